"""Redact secrets from the cassette copy of messages. Pure; no I/O.

Only what is written to the cassette is redacted: the relayed bytes are never touched, so
every function here takes decoded JSON (or a frame) and returns a new value, never
mutating its input. A redacted value becomes :data:`PLACEHOLDER`; the frame is marked
with the paths that were redacted (``params.mcpServers[0].env[1].value``).

Default rules (``defaults=True``, turned off by ``--no-redact``):

- known credential formats (:data:`acp_tap.secrets.rules.DEFAULT_RULES`: API keys and
  tokens, JWTs, ``Bearer``/``Basic`` credentials, PEM private keys, credentials in URL
  query parameters) wherever they appear in a string value, a text or stderr line, or the
  header's argv: only the secret itself is replaced;
- values of credential-named keys (``password``, ``api_key``, ``X-Api-Key``,
  ``accessToken``... see :func:`~acp_tap.secrets.rules.is_credential_name`) at any depth,
  and the ``value`` of ``{"name": <credential name>, "value": ...}`` pairs;
- ``params.mcpServers[*].env`` and ``params.mcpServers[*].headers`` values, in the ACP
  list form ``[{"name", "value"}]`` and the dict form ``{"NAME": "value"}``, for every
  method except the bulk ones in ``BULK_METHODS`` (whose schema has no ``mcpServers``);
- ``params.env`` values of ``terminal/create``;
- every ``params`` member of ``authenticate`` except ``methodId`` and ``_meta`` (both
  needed to replay; ``_meta`` still gets the two rules above);
- the whole ``result`` of a client's response to an agent->client request whose method
  looks like a credential exchange (see :func:`is_secret_method`).

``--redact-key NAME`` redacts the value of any object member named NAME (any case) and
the ``value`` of ``{"name": NAME, "value": ...}`` pairs. ``--redact REGEX`` replaces every
match inside any string value (and text/stderr lines, and argv); it runs in linear time
(RE2). Object keys and the top-level ``jsonrpc``, ``id`` and ``method`` members are never
changed: replay needs them. A secret split across streamed chunks is not found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import attrs

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.longline import LongLine
from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.errors import UsageError
from acp_tap.secrets.blobs import BLOB_MIN, Buffer, blob_spans, is_blob
from acp_tap.secrets.engine import PLACEHOLDER, Matcher, compile_any, compile_user, scrub
from acp_tap.secrets.places import BULK_METHODS, Path, default_targets, is_secret_method, members
from acp_tap.secrets.prefilter import might_hold_secret, pieces_might_hold_secret
from acp_tap.secrets.rules import DEFAULT_RULES, is_credential_name

__all__ = ["PLACEHOLDER", "RedactionRules", "Redactor", "is_secret_method", "redact_frame"]

DEFAULT_NAMES: Final = (
    "default-places",
    "credential-keys",
    *(rule.name for rule in DEFAULT_RULES),
)
"""The default rules as the cassette header lists them."""


_ENVELOPE = frozenset({"jsonrpc", "id", "method"})
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


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
            compile_user(pattern)
        return cls(defaults=not no_redact, keys=_unique(keys), patterns=_unique(patterns))

    def describe(self, first_regex: int = 1) -> tuple[str, ...]:
        """The rules as the cassette header lists them: user patterns by number only
        (``regex#1``, counting from ``first_regex``), never their text."""
        return (
            (DEFAULT_NAMES if self.defaults else ())
            + tuple(f"key:{key}" for key in self.keys)
            + tuple(f"regex#{first_regex + n}" for n in range(len(self.patterns)))
        )

    @property
    def active(self) -> bool:
        """Whether any rule can redact anything."""
        return self.defaults or bool(self.keys) or bool(self.patterns)


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
        return cls(source, path, members(source))

    def close(self) -> Any:
        if not self.changed:
            return self.source
        if isinstance(self.source, dict):
            return dict(self.pairs)
        return [value for _, value in self.pairs]


_DESCEND: Final = object()


def _folded_keys(redactor: Redactor) -> frozenset[str]:
    return frozenset(key.casefold() for key in redactor.rules.keys)


_FORMATS: Final = tuple((rule.pattern, rule.check, True) for rule in DEFAULT_RULES)
_ANY_FORMAT: Final = compile_any(rule.pattern for rule in DEFAULT_RULES)
_MEMBER_FORMATS: Final = tuple(
    (rule.pattern, rule.check, True) for rule in DEFAULT_RULES if rule.member
)


def _matchers(redactor: Redactor) -> tuple[Matcher, ...]:
    return tuple((compile_user(p), None, False) for p in redactor.rules.patterns)


@attrs.define(eq=False)
class Redactor:
    """Applies :class:`RedactionRules` to messages, text lines and frames."""

    rules: RedactionRules
    _keys: frozenset[str] = attrs.field(
        init=False, default=attrs.Factory(_folded_keys, takes_self=True)
    )
    _matchers: tuple[Matcher, ...] = attrs.field(
        init=False, default=attrs.Factory(_matchers, takes_self=True)
    )

    @property
    def user_rules(self) -> bool:
        """Whether ``--redact-key`` or ``--redact`` rules are set (no prefilter knows them)."""
        return bool(self._keys or self.rules.patterns)

    def may_apply(
        self,
        direction: Direction,
        method: str | None,
        answers: str | None,
        line: Buffer | None = None,
    ) -> bool:
        """Cheap pre-check: False means :meth:`message` would change nothing.

        ``method`` is the message's ``"method"`` member when it is a string (also for a
        request whose id is invalid), else None; ``answers`` as for :meth:`message`;
        ``line`` the message's raw JSON bytes, if known (else any message may hold a secret).
        """
        if self.user_rules:
            return True
        if not self.rules.defaults:
            return False
        if self.places_may_apply(direction, method, answers):
            return True
        return line is None or json_might_hold_secret(line)

    def places_may_apply(
        self, direction: Direction, method: str | None, answers: str | None
    ) -> bool:
        """Whether a default place (not a format or a key name) may apply to such a message."""
        if not self.rules.defaults:
            return False
        if method is not None and method not in BULK_METHODS:
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
        targets = default_targets(direction, msg, answers) if self.rules.defaults else set()
        if not targets and not self.rules.defaults and not self.user_rules:
            return msg, ()
        redacted: list[Path] = []
        new = self._walk(msg, targets, redacted)
        return new, tuple(sorted({format_path(path) for path in redacted}))

    def text(self, text: str) -> tuple[str, tuple[str, ...]]:
        """Apply the patterns (formats, ``--redact``) to a non-JSON line; the path is ``text``."""
        new = self._scrub(text)
        return (text, ()) if new == text else (new, ("text",))

    def data(self, data: bytes) -> bytes:
        """Apply the patterns to bytes that need not be UTF-8 (a ``b64`` line)."""
        return self._scrub_bytes(data)

    def argv(self, argv: Sequence[str]) -> tuple[str, ...]:
        """The command line as the header may show it: patterns applied to each argument."""
        return tuple(self._scrub(arg) for arg in argv)

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
        if path in targets or self._key_hit(parent, key, value):
            if isinstance(value, str) and value == PLACEHOLDER:
                return value
            redacted.append(path)
            return PLACEHOLDER
        if isinstance(value, dict | list):
            return _DESCEND
        if isinstance(value, str) and (self.rules.defaults or self._matchers):
            formats = self.rules.defaults and not is_blob(value)
            new = self._scrub(value, formats=formats)
            if formats and isinstance(parent, dict) and isinstance(key, str):
                new = self._scrub_member(key, new)
            if new != value:
                redacted.append(path)
                return new
        return value

    def _key_hit(self, parent: Any, key: str | int, value: Any) -> bool:
        """Whether ``parent[key]`` is wholly a secret: by its key, or as a pair's ``value``."""
        if not isinstance(parent, dict) or not isinstance(key, str):
            return False
        defaults = self.rules.defaults and value is not None and not isinstance(value, bool)
        if (self._keys and key.casefold() in self._keys) or (defaults and is_credential_name(key)):
            return True
        name = parent.get("name")
        if key != "value" or not isinstance(name, str):
            return False
        return name.casefold() in self._keys or (defaults and is_credential_name(name))

    def _scrub_member(self, key: str, value: str) -> str:
        """Rules that need the key as context, run on ``KEY="VALUE"``; only VALUE changes."""
        head = key.encode("utf-8", "surrogatepass") + b'="'
        data = head + value.encode("utf-8", "surrogatepass") + b'"'
        if not might_hold_secret(data):
            return value
        new = scrub(data, _MEMBER_FORMATS)
        if new == data or not new.startswith(head) or not new.endswith(b'"'):
            return value
        return new[len(head) : -1].decode("utf-8", "surrogatepass")

    def _scrub(self, text: str, *, formats: bool = True) -> str:
        """Replace every secret (unless not ``formats``) and ``--redact`` match outside
        placeholders (a fixed point)."""
        if not (formats and self.rules.defaults) and not self._matchers:
            return text
        data = text.encode("utf-8", "surrogatepass")
        new = self._scrub_bytes(data, formats=formats)
        return text if new is data else new.decode("utf-8", "surrogatepass")

    def _scrub_bytes(self, data: bytes, *, formats: bool = True) -> bytes:
        """:meth:`_scrub` on bytes; ``data`` itself if nothing changed."""
        formats = formats and self.rules.defaults and might_hold_secret(data)
        if not formats and not self._matchers:
            return data
        new = data
        while True:
            before = new
            if formats:
                new = scrub(new, _FORMATS, _ANY_FORMAT)
            new = scrub(new, self._matchers)
            if new == before:
                return data if new == data else new


def json_might_hold_secret(line: Buffer) -> bool:
    """:func:`might_hold_secret` for a JSON line, not looking inside its binary data in
    base64 (:mod:`acp_tap.secrets.blobs`), which the default formats skip."""
    if len(line) <= BLOB_MIN:
        return might_hold_secret(line)
    data = line if isinstance(line, bytes) else bytes(line)
    long = LongLine()
    long.add(data, 0, len(data), ascii_chunk=data.isascii())
    return long_line_might_hold_secret(long)


def long_line_might_hold_secret(long: LongLine) -> bool:
    """:func:`might_hold_secret` for a line checked in pieces, outside its blobs."""
    return pieces_might_hold_secret(long.pieces, blob_spans(long.pieces, long.long_strings))


def redact_frame(redactor: Redactor, frame: Frame, answers: str | None) -> Frame:
    """The frame as the cassette should hold it: redacted and marked, or ``frame`` itself.

    JSON frames are re-serialised compactly; text frames (stdout or stderr) and binary
    (b64) frames get the patterns. Paths already in ``frame.redacted`` are kept.
    """
    if frame.payload is Payload.JSON:
        return _redact_json(redactor, frame, answers)
    if frame.payload is Payload.TEXT:
        text, paths = redactor.text(bytes(frame.raw).decode("utf-8", "surrogatepass"))
        raw = text.encode("utf-8", "surrogatepass")
    else:
        raw = redactor.data(bytes(frame.raw))
        paths = ("b64",) if raw != frame.raw else ()
    if not paths:
        return frame
    return attrs.evolve(frame, raw=raw, redacted=_merge(frame.redacted, paths))


def _redact_json(redactor: Redactor, frame: Frame, answers: str | None) -> Frame:
    msg = frame.message()
    method = msg.get("method") if isinstance(msg, dict) else None
    method = method if isinstance(method, str) else None
    if not redactor.may_apply(frame.dir, method, answers, frame.raw):
        return frame
    new, paths = redactor.message(frame.dir, msg, answers)
    if not paths:
        return frame
    return attrs.evolve(
        frame, raw=dumps_compact(new), redacted=_merge(frame.redacted, paths), parsed=new
    )


def _merge(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*old, *new}))
