"""The client-side replay engine: plays a recorded client into a live agent. Pure; no I/O.

Feed it the live agent's stdout lines (:meth:`~ClientReplayEngine.receive`), the end of
that output (:meth:`~ClientReplayEngine.output_closed`), the agent's exit
(:meth:`~ClientReplayEngine.exited`), the passing of time (:meth:`~ClientReplayEngine.poll`)
and files read for it (:meth:`~ClientReplayEngine.file_read`); it returns
:mod:`~acp_tap.rerun.result` actions to carry out, in order.

Recorded client messages are sent when the rules of :mod:`acp_tap.rerun.plan`
allow, with the ids the live agent issued instead of the recorded ones (session ids, tool
call ids, string ids of agent requests: recorded -> live, learned as they appear; the
client's own request ids are sent as recorded, number or string). The live agent's
requests are answered by :mod:`acp_tap.rerun.requests`; what the agent has done so far,
in recorded terms, is followed by :mod:`acp_tap.rerun.progress`. When the recorded client
has said everything and every recorded answer has arrived, the agent's input is closed
(after a quiet ``settle`` if it sent fewer lines than recorded) and its exit awaited. The
verdict (:mod:`acp_tap.rerun.verdict`) compares the conversations as ``acp-tap
diff`` does.
"""

from __future__ import annotations

import enum
import os

import attrs

from acp_tap.cassette.codec import dumps_compact, loads_strict
from acp_tap.cassette.inputs import DEFAULT_MAX_LINE
from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.cassette.reader import Cassette
from acp_tap.inspect import acp
from acp_tap.matching.loader import load_for_replay
from acp_tap.matching.normal import IgnorePath
from acp_tap.matching.relocation import Relocation
from acp_tap.rerun.answers import IdMap
from acp_tap.rerun.plan import (
    ClientPlan,
    Outgoing,
    compile_client_plan,
)
from acp_tap.rerun.progress import Progress
from acp_tap.rerun.requests import AgentRequests, Reply
from acp_tap.rerun.result import (
    ClientAction,
    ClientReplayOptions,
    ClientReplayResult,
    CloseInput,
    Finished,
    Kill,
    ToAgent,
)
from acp_tap.rerun.verdict import Findings, verdict
from acp_tap.wire.jsonrpc import envelope

__all__ = ["ClientReplayEngine"]


class _State(enum.Enum):
    RUNNING = "running"  # sending the recorded client's messages
    CLOSING = "closing"  # the agent's input is closed: waiting for it to exit
    STOPPING = "stopping"  # Kill was asked for: waiting for the exit
    DONE = "done"


@attrs.define(eq=False)
class ClientReplayEngine:
    """Plays one recorded client to one live agent. Build with a ``from_*`` constructor."""

    plan: ClientPlan
    options: ClientReplayOptions
    _ignore: tuple[IgnorePath, ...]
    _proactive: tuple[Outgoing, ...]
    _ids: IdMap
    _requests: AgentRequests
    _so_far: Progress
    _relocation: Relocation = attrs.field(factory=Relocation)
    _live: list[Frame] = attrs.field(factory=list)
    _problems: list[str] = attrs.field(factory=list)
    _state: _State = _State.RUNNING
    _next: int = 0  # the next proactive step
    _start: float | None = None
    _progress: float = 0.0  # last line either way
    _output_at: float = 0.0  # last line from the agent
    _closed_at: float = 0.0
    _agent_lines: int = 0
    _output_ended: bool = False
    _cut: str | None = None  # what was left when the agent's output ended early

    @classmethod
    def from_cassette(
        cls, cassette: Cassette, options: ClientReplayOptions | None = None
    ) -> ClientReplayEngine:
        """An engine replaying ``cassette``'s client (raises :class:`~acp_tap.errors.UsageError`
        for a bad ``ignore`` path)."""
        plan = compile_client_plan(cassette.frames, cassette.footer)
        return cls.from_plan(plan, options)

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        options: ClientReplayOptions | None = None,
        *,
        max_line: int = DEFAULT_MAX_LINE,
    ) -> ClientReplayEngine:
        """An engine replaying the client of the cassette at ``path`` (no line of which may
        be longer than ``max_line`` bytes)."""
        return cls.from_cassette(load_for_replay(path, max_line=max_line), options)

    @classmethod
    def from_plan(
        cls, plan: ClientPlan, options: ClientReplayOptions | None = None
    ) -> ClientReplayEngine:
        """An engine replaying a compiled plan."""
        options = options or ClientReplayOptions()
        ignore = tuple(IgnorePath.parse(p) for p in options.ignore)
        ids = IdMap()
        requests = AgentRequests(plan, ids, options.fs_root, options.write_files)
        engine = cls(plan, options, ignore, plan.proactive, ids, requests, Progress(plan, ids))
        if options.cwd is not None and plan.cwd is not None:
            engine._relocation.add(plan.cwd, options.cwd)
        return engine

    # -- the public state machine -------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether :class:`Finished` was returned."""
        return self._state is _State.DONE

    def start(self, now: float) -> list[ClientAction]:
        """Begin: send the recorded client's first messages."""
        out: list[ClientAction] = []
        if self._start is None:
            self._start = self._progress = self._output_at = now
            self._pump(now, out)
        return out

    def receive(self, line: bytes | bytearray, now: float) -> list[ClientAction]:
        """A line from the agent's stdout (without its terminator)."""
        out: list[ClientAction] = []
        if self._state is _State.DONE:
            return out
        self._progress = self._output_at = now
        self._agent_lines += 1
        raw = bytes(line)
        self._record(Direction.AGENT_TO_CLIENT, raw, now)
        data = self._relocation.to_recorded(raw) if self._relocation else raw
        try:
            msg = loads_strict(data)
        except (ValueError, UnicodeDecodeError):
            msg = None
        env = envelope(msg)
        if env.is_response and env.id is not None:
            self._so_far.response(env.id, msg)
        elif env.method == "session/update":
            self._so_far.update(acp.params_of(msg))
        elif env.is_request and env.method is not None and env.id is not None:
            place = self._so_far.place
            replies = self._requests.handle(env.method, env.id, acp.params_of(msg), place)
            self._reply(replies, now, out)
        self._pump(now, out)
        return out

    def file_read(self, token: int, content: str | None, now: float) -> list[ClientAction]:
        """The shell read the file of :class:`ReadFile` ``token`` (``None``: no such file)."""
        out: list[ClientAction] = []
        if self._state is not _State.DONE:
            self._reply(self._requests.file_read(token, content), now, out)
            self._pump(now, out)
        return out

    def output_closed(self, now: float) -> list[ClientAction]:
        """The agent's stdout ended: nothing more will come; its exit is awaited."""
        out: list[ClientAction] = []
        self._output_ended = True
        if self._state is _State.RUNNING:
            self._cut = self._left()
            self._close_input(now, out)
        return out

    def exited(self, status: int, now: float) -> list[ClientAction]:
        """The agent exited with ``status`` (128+N: signal N), its output read: the verdict."""
        if self._state is _State.DONE:
            return []
        cut = self._left() if self._state is _State.RUNNING else self._cut
        if cut is not None and self._state is not _State.STOPPING:
            self._problems.append(f"the agent exited with status {status} while {cut}")
        self._state = _State.DONE
        return [Finished(self._result(status))]

    def poll(self, now: float) -> list[ClientAction]:
        """Time passed: close the agent's input after a quiet spell, or stop a hung agent."""
        out: list[ClientAction] = []
        if self._start is None or self._state in (_State.DONE, _State.STOPPING):
            return out
        timeout, max_time = self.options.timeout, self.options.max_time
        if max_time is not None and now >= self._start + max_time:
            self._stop(f"the replay did not finish within {max_time:g} s (--max-time)", out)
        elif self._state is _State.CLOSING:
            if now >= self._closed_at + timeout:
                self._stop(
                    f"the agent did not exit within {timeout:g} s after its input was closed", out
                )
        elif now >= self._progress + timeout:
            self._stop(self._hang(), out)
        else:
            self._pump(now, out)
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to do."""
        if self._start is None or self._state in (_State.DONE, _State.STOPPING):
            return None
        deadlines = []
        if self.options.max_time is not None:
            deadlines.append(self._start + self.options.max_time)
        if self._state is _State.CLOSING:
            deadlines.append(self._closed_at + self.options.timeout)
        else:
            deadlines.append(self._progress + self.options.timeout)
            if self._settling():
                deadlines.append(self._output_at + self._settle)
        return min(deadlines)

    # -- sending ------------------------------------------------------------------------

    @property
    def _settle(self) -> float:
        return min(self.options.settle, self.options.timeout)

    def _settling(self) -> bool:
        return (
            self._next >= len(self._proactive)
            and not self._so_far.awaiting()
            and not self.plan.agent_exit
        )

    def _pump(self, now: float, out: list[ClientAction]) -> None:
        """Send every proactive step now allowed; close the input once all is said."""
        while self._state is _State.RUNNING and self._next < len(self._proactive):
            step = self._proactive[self._next]
            if not self._so_far.ready(step, self._requests.asked, self._output_ended):
                return
            self._next += 1
            self._send_step(step, now, out)
        if self._state is _State.RUNNING and self._settling():
            quiet = now - self._output_at >= self._settle
            if self._agent_lines >= self.plan.agent_lines or quiet or self._output_ended:
                self._close_input(now, out)

    def _send_step(self, step: Outgoing, now: float, out: list[ClientAction]) -> None:
        frame = step.frame
        raw = bytes(frame.raw)
        if frame.is_json:
            msg = frame.message()
            new = self._ids.to_live(msg)
            if new is not msg:
                raw = dumps_compact(new)
        data = raw + frame.eol.bytes
        self._emit(self._relocation.to_live(data) if self._relocation else data, now, out)
        self._so_far.step_sent(step)

    def _emit(self, data: bytes, now: float, out: list[ClientAction]) -> None:
        """Send whole lines to the agent (unless its input is closed) and note them."""
        if self._state is not _State.RUNNING:
            return
        self._progress = now
        out.append(ToAgent(data))
        for line in data.splitlines():
            self._record(Direction.CLIENT_TO_AGENT, line, now)

    def _close_input(self, now: float, out: list[ClientAction]) -> None:
        out.append(CloseInput())
        self._state = _State.CLOSING
        self._closed_at = now

    def _stop(self, reason: str, out: list[ClientAction]) -> None:
        self._problems.append(f"{reason}; the agent was stopped")
        self._state = _State.STOPPING
        out.append(Kill(reason))

    # -- what the agent said --------------------------------------------------------------

    def _record(self, direction: Direction, raw: bytes, now: float) -> None:
        try:
            parsed = loads_strict(raw)
        except (ValueError, UnicodeDecodeError):
            payload, parsed = Payload.TEXT, None
        else:
            payload = Payload.JSON
        t = round(now - (self._start or 0.0), 6)
        self._live.append(
            Frame(len(self._live) + 1, t, direction, raw, payload, Eol.LF, parsed=parsed)
        )

    # -- answering the agent ------------------------------------------------------------

    def _reply(self, replies: list[Reply], now: float, out: list[ClientAction]) -> None:
        for reply in replies:
            if isinstance(reply, bytes):
                self._emit(self._relocation.to_live(reply) if self._relocation else reply, now, out)
            else:
                out.append(reply)

    # -- the verdict --------------------------------------------------------------------

    def _left(self) -> str | None:
        """What the replay was still waiting for, if anything."""
        waiting = self._so_far.waiting()
        if waiting:
            return f"{self.plan.steps[waiting[0]].describe()} was waiting for an answer"
        if self._next < len(self._proactive):
            return f"{self._proactive[self._next].describe()} was still to be sent"
        return None

    def _hang(self) -> str:
        timeout = self.options.timeout
        waiting = self._so_far.waiting()
        if waiting:
            step = self.plan.steps[waiting[0]]
            return f"the agent did not answer {step.describe()} within {timeout:g} s"
        if self._next < len(self._proactive):
            step = self._proactive[self._next]
            return f"the agent did not send what {step.describe()} waits for within {timeout:g} s"
        footer = self.plan.footer
        status = footer.status if footer is not None else "?"
        return (
            f"the agent did not exit within {timeout:g} s "
            f"(the recording ended with it exiting with status {status})"
        )

    def _result(self, status: int) -> ClientReplayResult:
        requests = self._requests
        findings = Findings(
            tuple(requests.changes),
            tuple(self._problems),
            tuple(requests.used),
            frozenset(self._so_far.sent),
        )
        return verdict(
            self.plan,
            self._live,
            status,
            findings,
            relocation=self._relocation,
            ignore=self._ignore,
        )
