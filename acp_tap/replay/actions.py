"""What the replay engine asks its shell to do, and the reports it makes. Pure values."""

from __future__ import annotations

import enum

import attrs

from acp_tap.faults.spec import Fault
from acp_tap.matching.diff import Difference, render_block


class OnMismatch(enum.StrEnum):
    """What the replay does after a client message that matches nothing."""

    ERROR = "error"  # answer a JSON-RPC error (requests), report, keep serving
    EXIT = "exit"  # the same, then exit with status 1


@attrs.frozen(kw_only=True)
class ReplayOptions:
    """How a cassette is replayed (the ``acp-tap replay`` options)."""

    ignore: tuple[str, ...] = ()  # paths not compared, e.g. "params.clientInfo.version"
    allow_repeats: bool = False  # a request already answered may be answered again
    allow_unused: bool = False  # recorded client messages may be left unused
    on_mismatch: OnMismatch = OnMismatch.ERROR
    speed: float | None = None  # None: as fast as causality allows; 1.0: recorded gaps
    stderr: bool = False  # replay the agent's recorded stderr lines
    stall_timeout: float = 1.0  # seconds of client silence that make a stall (0: never)
    faults: tuple[Fault, ...] = ()  # --fault: what the client is sent instead (acp_tap.faults)
    fault_seed: int = 0  # --fault-seed: fixes each fault's p and jitter draws


class ReportKind(enum.StrEnum):
    """Which rule a mismatch report is about."""

    NO_MATCH = "no-match"  # a client message that matches no recorded one
    REPEAT = "repeat"  # a request already answered (without --allow-repeats)
    ANSWER = "answer"  # an answer to an agent request that differs from the recording
    UNEXPECTED_ANSWER = "unexpected-answer"  # an answer to no waiting agent request
    UNUSED = "unused"  # recorded client messages that never arrived
    STALL = "stall"  # the client waits for what the replay holds until it sends something
    SKIPPED = "skipped"  # recorded agent frames not sent: they depend on a failed message


@attrs.frozen
class Report:
    """A mismatch between the live client and the recording, readable and structured."""

    kind: ReportKind
    summary: str  # one line; "acp-tap replay: " + summary is the JSON-RPC error message
    got: str | None = None  # the live message, shortened
    closest: str | None = None  # the closest recorded message, e.g. "frame #7 session/prompt"
    differences: tuple[Difference, ...] = ()
    details: tuple[str, ...] = ()  # more lines (e.g. the unused messages)
    frame: int | None = None  # the recorded frame (seq) it is about, to point at in a trace

    @property
    def mark(self) -> tuple[int, str, str] | None:
        """Where a trace points at it: (recorded seq, kind, summary), if it is about a frame."""
        return None if self.frame is None else (self.frame, self.kind.value, self.summary)

    def render(self) -> str:
        """A multi-line text for stderr: summary, the message, the closest one, a diff."""
        lines = [f"acp-tap replay: mismatch ({self.kind.value}): {self.summary}"]
        if self.got is not None:
            lines.append(f"  received: {self.got}")
        if self.closest is not None:
            lines.append(f"  closest recorded: {self.closest}")
        if self.differences:
            lines.append(render_block(list(self.differences)))
        lines.extend(f"  {line}" for line in self.details)
        return "\n".join(lines) + "\n"


@attrs.frozen
class Send:
    """Write these bytes (whole lines, terminators included) to the client."""

    data: bytes


@attrs.frozen
class Stderr:
    """Write these bytes (a recorded agent stderr line) to stderr."""

    data: bytes


@attrs.frozen
class Mismatch:
    """Report a mismatch (to stderr; the shell may also collect it)."""

    report: Report


@attrs.frozen
class Pause:
    """Hold the client's stream for ``seconds``: the actions after it wait (order is kept)."""

    seconds: float


@attrs.frozen
class CloseOutput:
    """Close the client's stream (it sees end of file); its input is still read."""


@attrs.frozen
class Injected:
    """A fault fired: say so (on stderr and in the report). Not a mismatch."""

    text: str  # "fault 1 (crash:status=3) at frame #12 session/update ...: the agent exits 3"

    def render(self) -> str:
        """The stderr line."""
        return f"acp-tap replay: {self.text}\n"


@attrs.frozen
class Exit:
    """Stop: close the client's stream and exit with ``status``. Always the last action.

    ``hung``: a ``hang`` fault stopped the output earlier; a shell imitating a process
    keeps the client's stream open a while longer, as a hung agent would.
    """

    status: int
    hung: bool = False


Action = Send | Stderr | Mismatch | Pause | CloseOutput | Injected | Exit


@attrs.frozen
class ReplayStatistics:
    """Counters of a replay so far."""

    received: int  # client lines received
    matched: int  # ... that matched a recorded message
    mismatches: int  # mismatch reports (unused messages not included)
    sent: int  # agent frames sent (stdout lines, including error answers)
    pending: int  # recorded agent frames not sent yet
    unused: int  # recorded client messages not received yet
