"""Redact secrets from the cassette copy of messages. Pure; no I/O.

Only what is written to the cassette is redacted: the relayed bytes are never touched, so
every function here takes decoded JSON (or a frame) and returns a new value, never
mutating its input. A redacted value becomes :data:`PLACEHOLDER`; the frame is marked
with the paths that were redacted (``params.mcpServers[0].env[1].value``).

Default places (``defaults=True``, turned off by ``--no-redact``):

- ``params.mcpServers[*].env`` and ``params.mcpServers[*].headers`` values, in the ACP
  list form ``[{"name", "value"}]`` and the dict form ``{"NAME": "value"}``, for every
  method except the bulk ones in ``_BULK_METHODS`` (whose schema has no ``mcpServers``);
- ``params.env`` values of ``terminal/create``;
- every ``params`` member of ``authenticate`` except ``methodId`` and ``_meta`` (both
  needed to replay);
- the whole ``result`` of a client's response to an agent->client request whose method
  looks like a credential exchange (see :func:`is_secret_method`).

``--redact-key NAME`` redacts the value of any object member named NAME (any case) and
the ``value`` of ``{"name": NAME, "value": ...}`` pairs. ``--redact REGEX`` replaces every
match inside any string value (and text/stderr lines). Object keys and the top-level
``jsonrpc``, ``id`` and ``method`` members are never changed: replay needs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import attrs

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.errors import UsageError

PLACEHOLDER: Final = "[REDACTED]"

Path = tuple[str | int, ...]
"""A position inside a JSON value: object keys and array indexes from the root."""

_ENVELOPE = frozenset({"jsonrpc", "id", "method"})
_AUTH_KEPT = frozenset({"methodId", "_meta"})
_SECRET_WORDS = ("auth", "token", "credential", "secret", "password")
_BULK_METHODS = frozenset(
    {
        "session/update",
        "session/prompt",
        "session/request_permission",
        "fs/read_text_file",
        "fs/write_text_file",
        "terminal/output",
    }
)
"""Methods whose params carry no default secret place (ACP schema) and can be huge."""

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def is_secret_method(method: str) -> bool:
    """Whether a method name looks like a credential exchange (e.g. ``_kiro.dev/auth/token``)."""
    folded = method.casefold()
    return any(word in folded for word in _SECRET_WORDS)


def format_path(path: Path) -> str:
    """Render a path readably: ``params.mcpServers[0].env[1].value``, ``params["a.b"]``."""
    if not path:
        return "$"
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _PLAIN_KEY.fullmatch(part):
            parts.append(f".{part}" if parts else part)
        else:
            parts.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(parts)


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise UsageError("--redact needs a non-empty REGEX (an empty one matches nothing to hide)")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(
            f"--redact {pattern!r} is not a valid regular expression: {exc}; "
            "write it in Python `re` syntax (quote it for the shell)"
        ) from None


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@attrs.frozen
class RedactionRules:
    """What to redact: the default places, plus user keys and regular expressions."""

    defaults: bool = True
    keys: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    @classmethod
    def from_options(
        cls, *, no_redact: bool, keys: Sequence[str], patterns: Sequence[str]
    ) -> RedactionRules:
        """Build the rules from ``--no-redact``, ``--redact-key`` and ``--redact``."""
        for key in keys:
            if not key.strip():
                raise UsageError("--redact-key needs a non-empty NAME (an object key to redact)")
        for pattern in patterns:
            _compile(pattern)
        return cls(defaults=not no_redact, keys=_unique(keys), patterns=_unique(patterns))

    def describe(self) -> tuple[str, ...]:
        """The rules as the cassette header lists them."""
        return (
            (("defaults",) if self.defaults else ())
            + tuple(f"key:{key}" for key in self.keys)
            + tuple(f"regex:{pattern}" for pattern in self.patterns)
        )

    @property
    def active(self) -> bool:
        """Whether any rule can redact anything."""
        return self.defaults or bool(self.keys) or bool(self.patterns)


def _members(value: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(value, dict):
        return iter(value.items())
    if isinstance(value, list):
        return enumerate(value)
    return iter(())


def _env_values(env: Any, path: Path) -> Iterator[Path]:
    """Paths of the secret values in an env/headers container, whatever its form."""
    if isinstance(env, dict):  # {"NAME": "value"}
        yield from ((*path, name) for name in env)
    elif isinstance(env, list):
        for index, item in enumerate(env):
            if not isinstance(item, dict):  # "NAME=value" or anything else: all of it
                yield (*path, index)
            elif "value" in item:  # ACP's {"name": ..., "value": ...}
                yield (*path, index, "value")


@attrs.define
class _Level:
    """One container being walked: its items so far, and whether any changed."""

    source: dict[str, Any] | list[Any]
    path: Path
    items: Iterator[tuple[str | int, Any]]
    pairs: list[tuple[str | int, Any]] = attrs.Factory(list)
    changed: bool = False

    @classmethod
    def open(cls, source: dict[str, Any] | list[Any], path: Path) -> _Level:
        return cls(source, path, _members(source))

    def close(self) -> Any:
        if not self.changed:
            return self.source
        if isinstance(self.source, dict):
            return dict(self.pairs)
        return [value for _, value in self.pairs]


_DESCEND: Final = object()


def _folded_keys(redactor: Redactor) -> frozenset[str]:
    return frozenset(key.casefold() for key in redactor.rules.keys)


def _compiled(redactor: Redactor) -> tuple[re.Pattern[str], ...]:
    return tuple(_compile(pattern) for pattern in redactor.rules.patterns)


@attrs.define(eq=False)
class Redactor:
    """Applies :class:`RedactionRules` to messages, text lines and frames."""

    rules: RedactionRules
    _keys: frozenset[str] = attrs.field(
        init=False, default=attrs.Factory(_folded_keys, takes_self=True)
    )
    _patterns: tuple[re.Pattern[str], ...] = attrs.field(
        init=False, default=attrs.Factory(_compiled, takes_self=True)
    )

    def may_apply(self, direction: Direction, method: str | None, answers: str | None) -> bool:
        """Cheap pre-check on the envelope: False means :meth:`message` would change nothing.

        ``method`` is the message's ``"method"`` member when it is a string (also for a
        request whose id is invalid), else None; ``answers`` as for :meth:`message`.
        """
        if self._keys or self._patterns:
            return True
        if not self.rules.defaults:
            return False
        if method is not None and method not in _BULK_METHODS:
            return True
        return (
            direction is Direction.CLIENT_TO_AGENT
            and answers is not None
            and is_secret_method(answers)
        )

    def message(
        self, direction: Direction, msg: Any, answers: str | None
    ) -> tuple[Any, tuple[str, ...]]:
        """Return (redacted copy or the same object if nothing changed, sorted unique paths).

        ``answers`` is the method of the request that ``msg`` responds to (the caller
        knows it from the ids), else None.
        """
        targets = self._default_targets(direction, msg, answers)
        if not targets and not self._keys and not self._patterns:
            return msg, ()
        redacted: list[Path] = []
        new = self._walk(msg, targets, redacted)
        return new, tuple(sorted({format_path(path) for path in redacted}))

    def text(self, text: str) -> tuple[str, tuple[str, ...]]:
        """Apply the regular expressions to a non-JSON line; the path is ``text``."""
        new = self._scrub(text)
        return (text, ()) if new == text else (new, ("text",))

    def _default_targets(self, direction: Direction, msg: Any, answers: str | None) -> set[Path]:
        targets: set[Path] = set()
        if not self.rules.defaults or not isinstance(msg, dict):
            return targets
        if (
            answers is not None
            and direction is Direction.CLIENT_TO_AGENT
            and "result" in msg
            and "method" not in msg
            and is_secret_method(answers)
        ):
            targets.add(("result",))
        method = msg.get("method")
        if not isinstance(method, str) or method in _BULK_METHODS:
            return targets
        params = msg.get("params")
        if method == "authenticate":
            if isinstance(params, dict):
                targets.update(("params", key) for key in params if key not in _AUTH_KEPT)
            elif params is not None:
                targets.add(("params",))
        if not isinstance(params, dict):
            return targets
        if method == "terminal/create":
            targets.update(_env_values(params.get("env"), ("params", "env")))
        for name, server in _members(params.get("mcpServers")):
            if isinstance(server, dict):
                for field in ("env", "headers"):
                    where = ("params", "mcpServers", name, field)
                    targets.update(_env_values(server.get(field), where))
        return targets

    def _walk(self, root: Any, targets: set[Path], redacted: list[Path]) -> Any:
        """Copy-on-write walk without recursion (JSON may nest deeper than the stack)."""
        top = self._visit(None, "", root, (), targets=targets, redacted=redacted)
        if top is not _DESCEND:
            return top
        stack = [_Level.open(root, ())]
        while True:
            level = stack[-1]
            item = next(level.items, None)
            if item is None:
                stack.pop()
                new = level.close()
                if not stack:
                    return new
                stack[-1].pairs.append((level.path[-1], new))
                stack[-1].changed |= new is not level.source
                continue
            key, child = item
            path = (*level.path, key)
            if not level.path and isinstance(level.source, dict) and key in _ENVELOPE:
                new = child
            else:
                new = self._visit(
                    level.source, key, child, path, targets=targets, redacted=redacted
                )
            if new is _DESCEND:
                stack.append(_Level.open(child, path))
            else:
                level.pairs.append((key, new))
                level.changed |= new is not child

    def _visit(
        self,
        parent: Any,
        key: str | int,
        value: Any,
        path: Path,
        *,
        targets: set[Path],
        redacted: list[Path],
    ) -> Any:
        """One node's new value, or ``_DESCEND`` for a container to walk into."""
        if path in targets or self._key_hit(parent, key):
            if isinstance(value, str) and value == PLACEHOLDER:
                return value
            redacted.append(path)
            return PLACEHOLDER
        if isinstance(value, dict | list):
            return _DESCEND
        if isinstance(value, str) and self._patterns:
            new = self._scrub(value)
            if new != value:
                redacted.append(path)
                return new
        return value

    def _key_hit(self, parent: Any, key: str | int) -> bool:
        if not self._keys or not isinstance(parent, dict) or not isinstance(key, str):
            return False
        if key.casefold() in self._keys:
            return True
        name = parent.get("name")
        return key == "value" and isinstance(name, str) and name.casefold() in self._keys

    def _scrub(self, text: str) -> str:
        """Replace every non-empty match outside placeholders, until none is left.

        Placeholders are never matched (so ``[A-Z]{5,}`` does not eat ``REDACTED``), and
        the loop makes the result a fixed point: redacting it again changes nothing.
        Each round hides at least one more character, so the loop ends.
        """
        if not self._patterns:
            return text
        while True:
            before = text
            for pattern in self._patterns:
                pieces = text.split(PLACEHOLDER)
                text = PLACEHOLDER.join(pattern.sub(_hide, piece) for piece in pieces)
            if text == before:
                return text


def _hide(match: re.Match[str]) -> str:
    return PLACEHOLDER if match.group() else ""


def redact_frame(redactor: Redactor, frame: Frame, answers: str | None) -> Frame:
    """The frame as the cassette should hold it: redacted and marked, or ``frame`` itself.

    JSON frames are re-serialised compactly, text frames (stdout or stderr) get the
    regular expressions, binary (b64) frames are left alone. Paths already in
    ``frame.redacted`` are kept.
    """
    if frame.payload is Payload.JSON:
        msg = frame.message()
        method = msg.get("method") if isinstance(msg, dict) else None
        if not redactor.may_apply(frame.dir, method if isinstance(method, str) else None, answers):
            return frame
        new, paths = redactor.message(frame.dir, msg, answers)
        if not paths:
            return frame
        return attrs.evolve(
            frame, raw=dumps_compact(new), redacted=_merge(frame.redacted, paths), parsed=new
        )
    if frame.payload is Payload.TEXT:
        text, paths = redactor.text(bytes(frame.raw).decode("utf-8", "surrogatepass"))
        if not paths:
            return frame
        raw = text.encode("utf-8", "surrogatepass")
        return attrs.evolve(frame, raw=raw, redacted=_merge(frame.redacted, paths))
    return frame


def _merge(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*old, *new}))
