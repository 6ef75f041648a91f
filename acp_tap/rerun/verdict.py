"""The verdict of a client-side replay: the live conversation compared with the recorded one.

Both are folded as ``acp-tap diff`` folds them (:mod:`acp_tap.inspect.diff`), the live one
in recorded working directories and both without the ``ignore`` paths; the engine's own
findings (agent requests without a recorded counterpart, writes with other content) come
after, then the recorded agent requests the live agent never made. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import attrs

from acp_tap.cassette.codec import loads_strict
from acp_tap.cassette.model import Direction, Frame
from acp_tap.inspect.diff import Change, diff, summarize
from acp_tap.matching.normal import IgnorePath
from acp_tap.matching.relocation import Relocation
from acp_tap.rerun.answers import describe
from acp_tap.rerun.plan import ClientPlan
from acp_tap.rerun.result import ClientReplayResult

COLLAPSED = 3
"""Changes in one place with no live value, from which a run cut short lists them as one."""


@attrs.frozen
class Findings:
    """What the engine noticed while the conversation went on."""

    changes: tuple[Change, ...]  # agent requests without counterpart, writes that differ...
    problems: tuple[str, ...]  # hangs, crashes
    used: tuple[bool, ...]  # per recorded agent request: the live agent made it
    sent: frozenset[int]  # the recorded client messages sent


def verdict(
    plan: ClientPlan,
    live: Sequence[Frame],
    status: int,
    findings: Findings,
    *,
    relocation: Relocation,
    ignore: tuple[IgnorePath, ...],
) -> ClientReplayResult:
    """Compare the live conversation (``live`` frames, the agent's exit ``status``) with
    the recording."""
    footer = plan.footer
    recorded_summary = summarize(compared(plan.frames, None, ignore))
    live_summary = summarize(compared(live, relocation, ignore))
    recorded_summary = attrs.evolve(recorded_summary, exit_status=footer.status if footer else None)
    live_summary = attrs.evolve(live_summary, exit_status=status if footer else None)
    changes = diff(recorded_summary, live_summary) + list(findings.changes)
    if findings.problems:
        changes = collapse_absent(changes)
    else:
        changes += missing_requests(plan, findings.used, findings.sent)
    return ClientReplayResult(tuple(changes), findings.problems, status, tuple(live))


def compared(
    frames: Iterable[Frame], relocation: Relocation | None, ignore: tuple[IgnorePath, ...]
) -> Iterator[Frame]:
    """Stdio JSON frames as compared: in recorded directories, ``ignore`` paths removed."""
    for original in frames:
        if original.dir is Direction.AGENT_STDERR or not original.is_json:
            continue
        frame = original
        if relocation:
            raw = relocation.to_recorded(bytes(frame.raw))
            if raw != frame.raw:
                frame = attrs.evolve(frame, raw=raw, parsed=loads_strict(raw))
        if ignore:
            msg = frame.message()
            for path in ignore:
                msg = path.remove(msg)
            frame = attrs.evolve(frame, parsed=msg)
        yield frame


def missing_requests(plan: ClientPlan, used: Sequence[bool], sent: frozenset[int]) -> list[Change]:
    """Recorded agent requests the live agent never made, once their turn was reached."""
    missing = []
    for ask in plan.asks:
        if not used[ask.number] and (ask.after is None or ask.after in sent):
            desc = f"{describe(ask.method, ask.params)} (frame #{ask.seq})"
            missing.append(Change(ask.where, "agent request", desc, None))
    return missing


def collapse_absent(changes: list[Change]) -> list[Change]:
    """Runs of :data:`COLLAPSED` or more changes in one place whose live value is absent,
    as one change naming the fields (an agent that hung or crashed leaves many)."""
    out: list[Change] = []
    i = 0
    while i < len(changes):
        j = i
        while (
            j < len(changes)
            and changes[j].where == changes[i].where
            and changes[j].b is None
            and changes[j].a is not None
        ):
            j += 1
        if j - i >= COLLAPSED:
            fields = ", ".join(c.field for c in changes[i:j])
            out.append(Change(changes[i].where, f"{j - i} fields, absent live", fields, None))
            i = j
        else:
            out.append(changes[i])
            i += 1
    return out
