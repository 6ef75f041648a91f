"""Normal forms: what of a message is compared with a recorded one, and its key. Pure.

A message is compared after normalisation: its JSON-RPC ``id`` and ``jsonrpc`` members are
dropped, trace context in any ``_meta`` object is dropped, and user-given ignore paths are
blanked. The normal form is hashed to a key, so finding the recorded message is one dict
lookup (:mod:`acp_tap.matching.index`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from acp_tap.errors import UsageError
from acp_tap.matching.diff import Difference

TRACE_META_KEYS = frozenset({"traceparent", "tracestate", "baggage"})
"""``_meta`` keys that carry trace context (W3C); any key containing "trace" is dropped too."""

IGNORED = "<ignored>"
"""What an ignored list item is replaced with (members are removed instead)."""

_META = b'"_meta"'
_ENVELOPE = frozenset({"id", "jsonrpc"})


class _Wildcard:
    def __repr__(self) -> str:
        return "*"


ANY: Any = _Wildcard()
"""A path step matching every member of an object or every item of a list."""

Step = str | int | _Wildcard

_STEP = re.compile(r'\.?([^.\[\]]+)|\[(\d+|\*|"(?:[^"\\]|\\.)*")\]')


@attrs.frozen
class IgnorePath:
    """A dotted path into a message whose value is not compared, e.g. ``params.clientInfo.version``.

    Steps: ``name`` (``*`` for any member), ``[N]`` (list item), ``[*]`` (every item),
    ``["a.b"]`` (a member whose name has dots or brackets). The root is the whole message.
    """

    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> IgnorePath:
        """Parse ``text``; raise :class:`UsageError` naming the bad part."""
        steps: list[Step] = []
        at = 0
        while at < len(text):
            m = _STEP.match(text, at)
            if m is None or (m.group(0).startswith(".") and at == 0):
                raise UsageError(
                    f"--ignore {text!r}: cannot parse at character {at + 1} ({text[at:]!r}); "
                    'use dotted names with [N], [*] or ["name"], e.g. params.clientInfo.version'
                )
            name, bracket = m.group(1), m.group(2)
            if name is not None:
                steps.append(ANY if name == "*" else name)
            elif bracket == "*":
                steps.append(ANY)
            elif bracket.startswith('"'):
                steps.append(json.loads(bracket))
            else:
                steps.append(int(bracket))
            at = m.end()
        if not steps:
            raise UsageError("--ignore needs a path, e.g. params.clientInfo.version")
        return cls(text, tuple(steps))

    def remove(self, value: Any) -> Any:
        """``value`` without what this path points at (copied where changed, never mutated)."""
        return _remove(value, self.steps)

    def values(self, value: Any) -> list[Any]:
        """What this path points at in ``value`` (none, one, or several with ``*``)."""
        found = [value]
        for step in self.steps:
            found = [item for v in found for item in _children(v, step)]
        return found


def _children(value: Any, step: Step) -> list[Any]:
    if isinstance(value, dict):
        if step is ANY:
            return list(value.values())
        return [value[step]] if isinstance(step, str) and step in value else []
    if isinstance(value, list):
        if step is ANY:
            return list(value)
        return [value[step]] if isinstance(step, int) and 0 <= step < len(value) else []
    return []


PLACEHOLDER = "[REDACTED]"
"""What the recorder writes in place of a redacted value, or of a secret inside a string."""


def redacted_differences(
    recorded: Any, live: Any, paths: tuple[IgnorePath, ...]
) -> list[Difference]:
    """Where ``live`` differs from ``recorded`` at its redacted ``paths``: a string in which
    only a secret was redacted (``"use key [REDACTED] please"``) must be the same around it;
    the placeholder itself matches any text, and a value redacted whole matches anything."""
    out = []
    for path in paths:
        for expected, got in zip(path.values(recorded), path.values(live), strict=False):
            if (
                not isinstance(expected, str)
                or expected == PLACEHOLDER
                or PLACEHOLDER not in expected
            ):
                continue
            pattern = ".*".join(re.escape(part) for part in expected.split(PLACEHOLDER))
            if not isinstance(got, str) or re.fullmatch(pattern, got, re.DOTALL) is None:
                out.append(Difference(path.text, expected, got))
    return out


def _remove(value: Any, steps: tuple[Step, ...]) -> Any:
    step, rest = steps[0], steps[1:]
    if isinstance(value, dict):
        if step is ANY:
            keys: Iterable[str] = list(value)
        elif isinstance(step, str) and step in value:
            keys = (step,)
        else:
            return value
        out = dict(value)
        for key in keys:
            if not rest:
                del out[key]
            else:
                out[key] = _remove(value[key], rest)
        return out
    if isinstance(value, list):
        if step is ANY:
            indexes: Iterable[int] = range(len(value))
        elif isinstance(step, int) and step < len(value):
            indexes = (step,)
        else:
            return value
        items = list(value)
        for i in indexes:
            items[i] = _remove(value[i], rest) if rest else IGNORED
        return items
    return value


def _strip_trace(value: Any) -> Any:
    """``value`` without trace context in ``_meta`` objects (copy-on-write)."""
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for key, item in value.items():
            new = _strip_meta(item) if key == "_meta" else _strip_trace(item)
            if new is not item:
                if out is None:
                    out = dict(value)
                if new is None:
                    del out[key]
                else:
                    out[key] = new
        return value if out is None else out
    if isinstance(value, list):
        items = [_strip_trace(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _strip_meta(meta: Any) -> Any:
    if not isinstance(meta, dict):
        return meta
    kept = {k: _strip_trace(v) for k, v in meta.items() if not _is_trace_key(k)}
    if not kept:
        return None  # an empty _meta is the same as none
    if len(kept) == len(meta) and all(kept[k] is meta[k] for k in kept):
        return meta
    return kept


def _is_trace_key(key: str) -> bool:
    return key in TRACE_META_KEYS or "trace" in key.lower()


@attrs.frozen(eq=False)
class Normaliser:
    """Turns a decoded message into the form that is compared, and that form into a key."""

    ignore: tuple[IgnorePath, ...] = ()

    @classmethod
    def from_paths(cls, paths: Sequence[str]) -> Normaliser:
        """Build from ``--ignore`` texts (raises :class:`UsageError` on a bad path)."""
        return cls(tuple(IgnorePath.parse(p) for p in paths))

    def normalise(
        self,
        message: Any,
        raw: bytes | bytearray | None = None,
        redacted: tuple[IgnorePath, ...] = (),
    ) -> Any:
        """The compared form of ``message``; ``raw`` (its bytes) lets a message without
        ``_meta`` skip the trace walk; ``redacted`` paths are left out too."""
        if not isinstance(message, dict):
            return message
        out = {k: v for k, v in message.items() if k not in _ENVELOPE}
        if raw is None or _META in raw:
            out = _strip_trace(out)
        for path in self.ignore:
            out = path.remove(out)
        for path in redacted:
            out = path.remove(out)
        return out

    def key(self, normal: Any, redacted: tuple[IgnorePath, ...] = ()) -> bytes:
        """A hashable digest of a normal form: equal forms (left out alike), equal keys."""
        text = json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
        for path in redacted:
            digest.update(b"\0" + path.text.encode("utf-8", "surrogatepass"))
        return digest.digest()


_NOTHING_REDACTED: tuple[tuple[IgnorePath, ...], ...] = ((),)


@attrs.frozen(eq=False)
class Redactions:
    """The paths redacted in recorded client messages (``"redacted"`` in their frames).

    A ``[REDACTED]`` value matches any value at its own place in its own message only:
    each recorded message is keyed without its own redacted paths, and a live message is
    looked up once per distinct set of paths recorded for its method.
    """

    by_method: Mapping[str | None, tuple[tuple[IgnorePath, ...], ...]]
    parsed: Mapping[tuple[str, ...], tuple[IgnorePath, ...]]

    @classmethod
    def of(cls, messages: Iterable[tuple[str | None, tuple[str, ...]]]) -> Redactions:
        """From each recorded message's method and redacted paths, in recorded order."""
        by_method: dict[str | None, dict[tuple[str, ...], None]] = {}
        parsed: dict[tuple[str, ...], tuple[IgnorePath, ...]] = {(): ()}
        for method, redacted in messages:
            texts = tuple(t for t in redacted if t != "$")
            if texts not in parsed:
                parsed[texts] = tuple(IgnorePath.parse(t) for t in texts)
            by_method.setdefault(method, {(): None})[texts] = None
        return cls(
            {m: tuple(parsed[t] for t in sets) for m, sets in by_method.items() if len(sets) > 1},
            parsed,
        )

    def paths(self, texts: tuple[str, ...]) -> tuple[IgnorePath, ...]:
        """The parsed paths of a recorded message's ``redacted`` list."""
        found = self.parsed.get(texts)
        if found is None:
            found = tuple(IgnorePath.parse(t) for t in texts if t != "$")
        return found

    def sets(self, method: str | None) -> tuple[tuple[IgnorePath, ...], ...]:
        """The sets of paths to leave out of a live message of ``method`` to look it up."""
        return self.by_method.get(method, _NOTHING_REDACTED)


def raw_key(line: bytes | bytearray) -> bytes:
    """The key of a line that is not JSON: its exact bytes."""
    return b"raw:" + bytes(line)
