"""What the replay tells the client and the user when something does not match. Pure.

Mismatch :class:`~acp_tap.replay.actions.Report` values (the JSON-RPC error answered to an
unmatched request is :func:`acp_tap.matching.mismatch.error_line`), and :class:`Out`, the
engine's collector of actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from acp_tap.matching.diff import Difference, shorten
from acp_tap.matching.index import Closest
from acp_tap.replay.actions import Action, Report, ReportKind, Send, Stderr
from acp_tap.replay.plan import ClientStep, Plan

SHOWN_DIFFERENCES = 3
"""Differences named in a JSON-RPC error message (all are in its ``data``)."""

LISTED_UNUSED = 20
"""Unused recorded messages listed by name at the end (the rest are counted)."""


@attrs.define(eq=False)
class Out:
    """Actions being collected; consecutive lines for the client become one :class:`Send`.

    ``muted`` (a ``hang`` or ``close`` fault): nothing more goes to the client or to the
    agent's stderr; reports still do.
    """

    actions: list[Action] = attrs.field(factory=list)
    chunks: list[bytes] = attrs.field(factory=list)
    muted: bool = False

    def send(self, data: bytes) -> None:
        """Queue whole lines for the client."""
        if not self.muted:
            self.chunks.append(data)

    def append(self, action: Action) -> None:
        """Queue another action, after the lines queued so far."""
        if self.muted and isinstance(action, Send | Stderr):
            return
        self._seal()
        self.actions.append(action)

    def _seal(self) -> None:
        if self.chunks:
            chunks = self.chunks
            self.actions.append(Send(chunks[0] if len(chunks) == 1 else b"".join(chunks)))
            self.chunks = []

    def result(self) -> list[Action]:
        """All actions, in order."""
        self._seal()
        return self.actions


def named(diffs: tuple[Difference, ...]) -> str:
    """The first differences on one line, and how many more there are."""
    shown = "; ".join(d.render() for d in diffs[:SHOWN_DIFFERENCES])
    more = len(diffs) - SHOWN_DIFFERENCES
    return shown + (f"; and {more} more" if more > 0 else "")


def clip(line: bytes, width: int = 100) -> str:
    """A received line for a report, shortened."""
    text = line.decode("utf-8", "replace")
    return text if len(text) <= width else text[: width - 1] + "…"


def repeat_report(what: str, got: str, step: ClientStep) -> tuple[Report, dict[str, Any]]:
    """A request equal to a recorded one already used (without ``--allow-repeats``)."""
    summary = (
        f"{what} repeats {step.describe()}, which was already used; "
        "pass --allow-repeats to answer it again"
    )
    report = Report(
        ReportKind.REPEAT, summary, got=got, closest=step.describe(), frame=step.frame.seq
    )
    return report, {"repeats": step.frame.seq}


def no_match_report(
    what: str, got: str, step: ClientStep | None, closest: Closest | None
) -> tuple[Report, dict[str, Any]]:
    """A message equal to no recorded one: the closest (``step``) and how it differs."""
    if step is None or closest is None:
        summary = f"no recorded message matches {what}; none is left unused"
        return Report(ReportKind.NO_MATCH, summary, got=got), {"closest": None}
    used = " (already used)" if closest.used else ""
    summary = (
        f"no recorded message matches {what}; closest is "
        f"{step.describe()}{used}: {named(closest.differences)}"
    )
    report = Report(
        ReportKind.NO_MATCH, summary, got, step.describe(), closest.differences,
        frame=step.frame.seq,
    )  # fmt: skip
    data = {
        "closest": {"seq": step.frame.seq, "method": step.method, "used": closest.used},
        "differences": [d.to_json() for d in closest.differences],
    }
    return report, data


def unused_messages(
    plan: Plan,
    settled: Callable[[int], bool],
    asked: set[int],
    *,
    agent_exit: bool,
    expected_until: int | None = None,
) -> tuple[list[ClientStep], int]:
    """Recorded client messages that never arrived (not settled), and how many of them are
    answers to agent requests never sent (a consequence, not listed). When the recording
    ended with the agent exiting, what the client sent after its last frame is not expected;
    nor, after a fault withheld a frame, what it sent after ``expected_until``.
    """
    last_seq = plan.agent[-1].seq if plan.agent else 0
    if agent_exit and (expected_until is None or last_seq < expected_until):
        expected_until = last_seq
    unused: list[ClientStep] = []
    unasked = 0
    for step in plan.client:
        if settled(step.index) or (expected_until is not None and step.frame.seq > expected_until):
            continue
        if step.answers is not None and step.answers not in asked:
            unasked += 1
        else:
            unused.append(step)
    return unused, unasked


def unused_report(plan: Plan, unused: list[ClientStep], unasked: int, allow_unused: bool) -> Report:
    """Recorded client messages that never arrived (and answers whose request never went)."""
    n = len(unused)
    details = tuple(
        f"{step.describe()}: {shorten(plan.normal(step), 100)}" for step in unused[:LISTED_UNUSED]
    )
    if n > LISTED_UNUSED:
        details += (f"and {n - LISTED_UNUSED} more",)
    if unasked:
        details += (
            f"(and {unasked} recorded answers to agent requests that were never sent, "
            "because of the above)",
        )
    what = "message" if n == 1 else "messages"
    hint = "" if allow_unused else " (--allow-unused accepts this)"
    summary = f"{n} recorded client {what} never arrived{hint}"
    frame = unused[0].frame.seq if unused else None
    return Report(ReportKind.UNUSED, summary, details=details, frame=frame)


def unknown_method_report(
    what: str, got: str, method: str | None, recorded: list[str | None]
) -> tuple[Report, dict[str, Any]]:
    """A message whose method the recording never has from the client."""
    names = ", ".join(m for m in recorded if m is not None) or "none"
    summary = f"no {method} was recorded from the client; recorded methods: {names}"
    return Report(ReportKind.NO_MATCH, f"{what} matches nothing: {summary}", got=got), {
        "closest": None,
        "recordedMethods": [m for m in recorded if m is not None],
    }


def unknown_session_report(
    what: str, got: str, session: str, recorded: tuple[str, ...]
) -> tuple[Report, dict[str, Any]]:
    """A message naming a session the recording does not have."""
    shown = ", ".join(recorded[:LISTED_UNUSED]) or "none"
    more = f" and {len(recorded) - LISTED_UNUSED} more" if len(recorded) > LISTED_UNUSED else ""
    summary = f"{what} names unknown session {session} (recorded: {shown}{more})"
    return Report(ReportKind.NO_MATCH, summary, got=got), {
        "closest": None,
        "unknownSession": session,
    }


def skipped_report(seqs: list[int], reason: str) -> Report:
    """Recorded agent frames not sent because a client message they depend on failed."""
    shown = ", ".join(f"#{seq}" for seq in seqs[:LISTED_UNUSED])
    more = f" and {len(seqs) - LISTED_UNUSED} more" if len(seqs) > LISTED_UNUSED else ""
    noun = "frame" if len(seqs) == 1 else "frames"
    summary = f"recorded agent {noun} {shown}{more} not sent: they depend on a failed message"
    return Report(ReportKind.SKIPPED, summary, details=(reason,), frame=seqs[0])
