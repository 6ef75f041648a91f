"""Answer a live agent's requests the way the recorded client did. Pure; no I/O.

A live agent request is paired with a recorded one (an :class:`~acp_tap.rerun.plan.Ask`)
by what it is about, never by position alone:

- ``session/request_permission``: tool call title and kind, and the option kinds offered;
- ``fs/read_text_file``: path, line and limit; ``fs/write_text_file``: path;
- ``terminal/create``: command, arguments and working directory; other ``terminal/*``:
  the terminal id (issued by the client, so the recorded one);
- anything else: its params, session id left out.

Candidates are the unused recorded requests of the same method, in the live request's
session first; a looser key (permission: option kinds only; fs read: path only; terminal:
command only) comes next; a used request with the same key last (the agent asked again).
Ids and paths are compared in recorded terms: the engine maps the live ones back first
(:class:`IdMap`); answers go out in live terms (:func:`answer_line`).
"""

from __future__ import annotations

import enum
import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.model import Frame
from acp_tap.matching.ids import with_id
from acp_tap.rerun.plan import Ask
from acp_tap.wire.jsonrpc import RequestId


class How(enum.Enum):
    """How a live agent request was paired with a recorded one."""

    EXACT = "exact"
    LOOSE = "loose"  # the looser key: reported through the conversation diff
    AGAIN = "again"  # a recorded request already answered once


@attrs.frozen
class Pairing:
    """The recorded request a live one stands for."""

    ask: Ask
    how: How


def rewrite(value: Any, table: Mapping[str, str]) -> Any:
    """``value`` with every string equal to a key of ``table`` replaced (copy-on-write:
    an unchanged value is returned as the same object)."""
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for key, item in value.items():
            new = rewrite(item, table)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if isinstance(value, list):
        items = [rewrite(item, table) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _get(params: Mapping[str, Any], *path: str) -> Any:
    node: Any = params
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _option_kinds(params: Mapping[str, Any]) -> tuple[str, ...]:
    options = params.get("options")
    if not isinstance(options, list):
        return ()
    return tuple(str(o.get("kind")) for o in options if isinstance(o, dict))


def _canonical(params: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in params.items() if k != "sessionId"}
    return json.dumps(rest, sort_keys=True, ensure_ascii=False)


def _permission_key(params: Mapping[str, Any]) -> tuple[Any, ...]:
    tool = (_get(params, "toolCall", "title"), _get(params, "toolCall", "kind"))
    return (*tool, _option_kinds(params))


_EXACT: dict[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {
    "session/request_permission": _permission_key,
    "fs/read_text_file": lambda p: (p.get("path"), p.get("line"), p.get("limit")),
    "fs/write_text_file": lambda p: (p.get("path"),),
    "terminal/create": lambda p: (p.get("command"), json.dumps(p.get("args")), p.get("cwd")),
}
_LOOSE: dict[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {
    "session/request_permission": lambda p: (_option_kinds(p),),
    "fs/read_text_file": lambda p: (p.get("path"),),
    "terminal/create": lambda p: (p.get("command"),),
}


def exact_key(method: str, params: Mapping[str, Any]) -> tuple[Any, ...]:
    """What must be equal for a live request to be the recorded one."""
    if method in _EXACT:
        return _EXACT[method](params)
    if method.startswith("terminal/"):
        return (params.get("terminalId"),)
    return (_canonical(params),)


def pair(
    asks: Sequence[Ask],
    used: Sequence[bool],
    method: str,
    params: Mapping[str, Any],
    session: str | None,
) -> Pairing | None:
    """The recorded request a live one (``params`` in recorded terms) stands for, if any."""
    same = [a for a in asks if a.method == method]
    ordered = [a for a in same if a.session == session] + [a for a in same if a.session != session]
    fresh = [a for a in ordered if not used[a.number]]
    key = exact_key(method, params)
    for ask in fresh:
        if exact_key(method, ask.params) == key:
            return Pairing(ask, How.EXACT)
    loose = _LOOSE.get(method)
    if loose is not None:
        wanted = loose(params)
        for ask in fresh:
            if loose(ask.params) == wanted:
                return Pairing(ask, How.LOOSE)
    for ask in ordered:
        if used[ask.number] and exact_key(method, ask.params) == key:
            return Pairing(ask, How.AGAIN)
    return None


def describe(method: str, params: Mapping[str, Any]) -> str:
    """A one-line description of an agent request, for reports."""
    if method == "session/request_permission":
        title, kind = _get(params, "toolCall", "title"), _get(params, "toolCall", "kind")
        return f"{method} {title!r} ({kind}): {', '.join(_option_kinds(params))}"
    if method.startswith("fs/"):
        return f"{method} {params.get('path')}"
    if method == "terminal/create":
        args = params.get("args")
        words = [str(params.get("command")), *(map(str, args) if isinstance(args, list) else ())]
        return f"{method} {' '.join(words)}"
    if method.startswith("terminal/"):
        return f"{method} {params.get('terminalId')}"
    return method


def permission_result(
    recorded: Any, recorded_params: Mapping[str, Any], live_params: Mapping[str, Any]
) -> Any:
    """The recorded permission outcome, its option translated to the live options.

    The option is found by the recorded one's kind; among several of that kind, the one
    with the recorded option's id, else its name, else the first. An outcome with no
    option (``cancelled``) is kept as recorded.
    """
    outcome = recorded.get("outcome") if isinstance(recorded, dict) else None
    if not isinstance(outcome, dict) or outcome.get("optionId") is None:
        return recorded
    chosen = outcome["optionId"]
    options = recorded_params.get("options")
    before = next(
        (o for o in options or () if isinstance(o, dict) and o.get("optionId") == chosen), None
    )
    live = [o for o in live_params.get("options") or () if isinstance(o, dict)]
    if before is None or not live:
        return recorded
    same_kind = [o for o in live if o.get("kind") == before.get("kind")]
    for candidates in (
        [o for o in same_kind if o.get("optionId") == chosen],
        [o for o in same_kind if o.get("name") == before.get("name")],
        same_kind,
    ):
        if candidates:
            picked = candidates[0].get("optionId")
            return dict(recorded, outcome=dict(outcome, optionId=picked))
    return recorded


def inside(path: str, root: str | None) -> str | None:
    """``path`` relative to the directory ``root`` (both absolute), or ``None`` outside it.

    Used to place files read with ``--fs-root`` and written with ``--write-dir``: a
    path that leaves ``root`` (``..`` included) never gets a place.
    """
    if root is None or not posixpath.isabs(path):
        return None
    norm, base = posixpath.normpath(path), posixpath.normpath(root)
    if base != "/" and not norm.startswith(base + "/"):
        return None
    rel = norm[len(base) :].lstrip("/")
    return rel or None


def text_slice(content: str, line: Any, limit: Any) -> str:
    """``content`` from 1-based ``line`` for ``limit`` lines, as ``fs/read_text_file`` asks."""
    if not isinstance(line, int) and not isinstance(limit, int):
        return content
    lines = content.splitlines(keepends=True)
    start = max(line - 1, 0) if isinstance(line, int) else 0
    end = start + max(limit, 0) if isinstance(limit, int) else None
    return "".join(lines[start:end])


@attrs.define(eq=False)
class IdMap:
    """Ids the live agent issued in place of recorded ones (session ids, tool call ids,
    string ids of its requests): learned as they appear, applied to whole string values."""

    _live: dict[str, str] = attrs.field(factory=dict)  # recorded -> live
    _recorded: dict[str, str] = attrs.field(factory=dict)  # live -> recorded

    def add(self, recorded: str, live: str) -> None:
        """``live`` stands for ``recorded`` from now on."""
        if recorded != live:
            self._live[recorded] = live
            self._recorded[live] = recorded

    def live_id(self, recorded: str) -> str:
        """The live id standing for ``recorded`` (itself if none does)."""
        return self._live.get(recorded, recorded)

    def recorded_id(self, live: str) -> str:
        """The recorded id ``live`` stands for (itself if none)."""
        return self._recorded.get(live, live)

    def to_live(self, value: Any) -> Any:
        """``value`` with recorded ids replaced by live ones (the same object if none)."""
        return rewrite(value, self._live) if self._live else value

    def to_recorded(self, value: Any) -> Any:
        """``value`` with live ids replaced by recorded ones (the same object if none)."""
        return rewrite(value, self._recorded) if self._recorded else value


def answer_line(
    frame: Frame, ask: Ask, live_id: RequestId, live_params: Mapping[str, Any], ids: IdMap
) -> bytes:
    """The recorded answer ``frame`` to ``ask``, for the live request ``live_id``: live ids,
    the permission option translated to the live options; recorded bytes where unchanged."""
    msg = frame.message()
    new = ids.to_live(msg)
    if ask.method == "session/request_permission" and isinstance(new, dict):
        result = new.get("result")
        chosen = permission_result(result, ask.params, live_params)
        if chosen is not result:
            new = dict(new, result=chosen)
    if new is not msg:
        raw = dumps_compact(dict(new, id=live_id))
    elif type(live_id) is type(ask.request_id) and live_id == ask.request_id:
        raw = bytes(frame.raw)
    else:
        raw = with_id(bytes(frame.raw), live_id)
    return raw + frame.eol.bytes
