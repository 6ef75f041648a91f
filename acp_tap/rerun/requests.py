"""The recorded client's side of the live agent's requests. Pure; no I/O.

Each live agent request is paired with a recorded one (:func:`~acp_tap.rerun.answers.pair`)
and answered with the recorded answer; an ``fs/read_text_file`` may be served from
``--fs-root`` instead (a :class:`~acp_tap.rerun.result.ReadFile` for the shell,
then :meth:`AgentRequests.file_read`); an ``fs/write_text_file`` is compared with the
recorded one and may be handed to the shell (:class:`~acp_tap.rerun.result.WriteFile`);
a request with no recorded counterpart is answered with a JSON-RPC error. What differs
from the recording is noted as :class:`~acp_tap.inspect.diff.Change` values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from acp_tap.cassette.codec import dumps_compact
from acp_tap.inspect import acp
from acp_tap.inspect.diff import Change
from acp_tap.matching.mismatch import error_line
from acp_tap.rerun.answers import (
    How,
    IdMap,
    answer_line,
    describe,
    inside,
    pair,
    text_slice,
)
from acp_tap.rerun.plan import Ask, ClientPlan
from acp_tap.rerun.result import ReadFile, WriteFile
from acp_tap.wire.jsonrpc import RequestId

Reply = bytes | ReadFile | WriteFile
"""Lines to send to the agent (whole, in live terms but recorded directories), or file work."""


@attrs.frozen
class _Read:
    """An fs/read_text_file waiting for the shell to read the file."""

    live_id: RequestId
    ask: Ask | None
    params: dict[str, Any]  # in recorded terms
    live_params: dict[str, Any]
    desc: str
    place: str


@attrs.define(eq=False)
class AgentRequests:
    """Answers the live agent's requests as the recorded client did."""

    plan: ClientPlan
    ids: IdMap
    fs_root: bool = False  # serve fs/read_text_file through ReadFile
    write_files: bool = False  # hand fs/write_text_file contents to the shell
    used: list[bool] = attrs.field(factory=list)  # per recorded request: made live
    changes: list[Change] = attrs.field(factory=list)
    _reads: dict[int, _Read] = attrs.field(factory=dict)
    _tokens: int = 0

    def __attrs_post_init__(self) -> None:
        if not self.used:
            self.used = [False] * len(self.plan.asks)

    def asked(self, number: int) -> bool:
        """Whether the live agent made recorded request ``number``."""
        return self.used[number]

    def handle(
        self,
        method: str,
        live_id: RequestId,
        live_params: dict[str, Any],
        place_of: Callable[[str | None], str],
    ) -> list[Reply]:
        """A live agent request: what to send and do. ``place_of(recorded session)`` names
        where in the conversation it happened, for reports."""
        params = self.ids.to_recorded(live_params)
        session = acp.session_of(params)
        desc, place = describe(method, params), place_of(session)
        pairing = pair(self.plan.asks, self.used, method, params, session)
        ask = pairing.ask if pairing is not None else None
        replies: list[Reply] = []
        if pairing is not None and ask is not None:
            if pairing.how is How.AGAIN:
                again = f"{desc} (again; answered as frame #{ask.seq})"
                self.changes.append(Change(place, "agent request", None, again))
            elif pairing.how is How.LOOSE:
                recorded = f"{describe(method, ask.params)} (frame #{ask.seq})"
                self.changes.append(Change(place, "agent request", recorded, desc))
            self.used[ask.number] = True
            if isinstance(ask.request_id, str) and isinstance(live_id, str):
                self.ids.add(ask.request_id, live_id)
            if method == "fs/write_text_file":
                replies += self._written(ask, params, place)
        read_path = self._read_path(method, params, session)
        if read_path is not None:
            self._tokens += 1
            self._reads[self._tokens] = _Read(live_id, ask, params, live_params, desc, place)
            replies.append(ReadFile(self._tokens, read_path))
        elif ask is not None:
            replies += self._answer(live_id, ask, live_params)
        else:
            replies.append(self._refuse(live_id, desc, place))
        return replies

    def file_read(self, token: int, content: str | None) -> list[Reply]:
        """The shell read the file of :class:`ReadFile` ``token`` (``None``: no such file)."""
        read = self._reads.pop(token, None)
        if read is None:
            return []
        if content is not None:
            text = text_slice(content, read.params.get("line"), read.params.get("limit"))
            message = {"jsonrpc": "2.0", "id": read.live_id, "result": {"content": text}}
            return [dumps_compact(message) + b"\n"]
        if read.ask is not None:
            return self._answer(read.live_id, read.ask, read.live_params)
        return [self._refuse(read.live_id, read.desc, read.place)]

    def _cwd(self, session: str | None) -> str | None:
        return self.plan.cwds.get(session or "", self.plan.cwd)

    def _read_path(self, method: str, params: dict[str, Any], session: str | None) -> str | None:
        if method != "fs/read_text_file" or not self.fs_root:
            return None
        path = params.get("path")
        return inside(path, self._cwd(session)) if isinstance(path, str) else None

    def _written(self, ask: Ask, params: dict[str, Any], place: str) -> list[Reply]:
        path, content = params.get("path"), params.get("content")
        recorded = ask.params.get("content")
        if recorded != content:
            self.changes.append(Change(place, f"fs/write_text_file {path}", recorded, content))
        if self.write_files and isinstance(path, str) and isinstance(content, str):
            rel = inside(path, self._cwd(ask.session))
            if rel is not None:
                return [WriteFile(rel, content)]
        return []

    def _answer(self, live_id: RequestId, ask: Ask, live_params: dict[str, Any]) -> list[Reply]:
        """The recorded answer (none if the recording ended before the client answered)."""
        if ask.answer is None:
            return []
        frame = self.plan.steps[ask.answer].frame
        return [answer_line(frame, ask, live_id, live_params, self.ids)]

    def _refuse(self, live_id: RequestId, desc: str, place: str) -> bytes:
        """No recorded counterpart: a JSON-RPC error, and a change."""
        note = f"{desc} (not in the recording; answered with an error)"
        self.changes.append(Change(place, "agent request", None, note))
        return error_line(live_id, f"the recording has no {desc}", {"unrecorded": desc})
