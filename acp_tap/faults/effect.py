"""What the other side is sent instead of a frame that faults hit. Pure.

:func:`effect` turns the faults that fired on one frame into steps, in this order: the
stream is held (``delay``), noise goes to stderr (``stderr``), extra lines go out
(``garbage``); then ``crash``, ``hang`` or ``close`` ends the output, or ``drop`` leaves
the frame out; else the frame itself goes out, answered with an error (``error``) or cut
in half (``corrupt``), as many times as ``duplicate`` and ``flood`` say, each copy in
pieces if ``slice`` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from acp_tap.cassette.codec import dumps_compact
from acp_tap.faults.select import draw
from acp_tap.faults.spec import ENDING, WITHHOLDING, Fault, FaultKind


@attrs.frozen
class Write:
    """Bytes for the other side's stream."""

    data: bytes


@attrs.frozen
class Noise:
    """Bytes for stderr."""

    data: bytes


@attrs.frozen
class Hold:
    """Hold the stream this long; what follows waits."""

    seconds: float


@attrs.frozen
class End:
    """The output ends here: ``crash`` (exit ``status``), ``hang`` or ``close``."""

    kind: FaultKind
    status: int = 0


Step = Write | Noise | Hold | End


def hold_seconds(fault: Fault, seq: int, seed: int) -> float:
    """A delay fault's hold at frame ``seq``: ms, plus or minus the drawn jitter."""
    jitter = fault.jitter * (2 * draw(seed, fault.position, seq, "jitter") - 1)
    return max(0.0, fault.ms + jitter) / 1000


def effect(
    faults: Sequence[Fault],
    wire: bytes,
    *,
    seq: int,
    seed: int = 0,
    error: Callable[[Fault], bytes] | None = None,
) -> list[Step]:
    """The steps that replace sending ``wire`` (one line, terminator included); only the
    :func:`effective` faults act.

    ``error(fault)`` builds the JSON-RPC error line for an ``error`` fault (the caller knows
    the live id); without it an ``error`` fault leaves the frame as it is.
    """
    steps, extra = _before(faults, seq, seed)
    by_kind = {fault.kind: fault for fault in reversed(faults)}  # the first of each kind
    if (ending := _ending(faults)) is not None:
        steps.append(End(ending.kind, ending.status if ending.kind is FaultKind.CRASH else 0))
        return steps
    if FaultKind.DROP in by_kind:
        return steps
    line = wire
    if (failing := by_kind.get(FaultKind.ERROR)) is not None and error is not None:
        line = error(failing)
    if FaultKind.CORRUPT in by_kind:
        content = line.removesuffix(b"\n").removesuffix(b"\r")
        line = content[: len(content) // 2] + b"\n"
    copies = 1 + extra
    if (sliced := by_kind.get(FaultKind.SLICE)) is None:
        steps.append(Write(line * copies))
        return steps
    for _ in range(copies):
        steps.extend(pieces(line, sliced.size, sliced.gap_ms / 1000))
    return steps


def _ending(faults: Sequence[Fault]) -> Fault | None:
    """The first crash, hang or close among ``faults``."""
    return next((fault for fault in faults if fault.kind in ENDING), None)


def effective(faults: Sequence[Fault]) -> list[Fault]:
    """The faults that act on a frame: what goes before it, and then the one that ends the
    output or drops the frame, or else every one that changes it."""
    before = (FaultKind.DELAY, FaultKind.STDERR, FaultKind.GARBAGE)
    stop = _ending(faults) or next((f for f in faults if f.kind is FaultKind.DROP), None)
    if stop is None:
        return list(faults)
    return [fault for fault in faults if fault.kind in before or fault is stop]


def _before(faults: Sequence[Fault], seq: int, seed: int) -> tuple[list[Step], int]:
    """The holds, stderr noise and garbage lines that go before the frame; extra copies."""
    steps: list[Step] = []
    extra = 0
    for fault in faults:
        if fault.kind is FaultKind.DELAY:
            if (seconds := hold_seconds(fault, seq, seed)) > 0:
                steps.append(Hold(seconds))
        elif fault.kind is FaultKind.STDERR:
            steps.append(Noise((fault.text + "\n").encode() * fault.count))
        elif fault.kind is FaultKind.GARBAGE:
            steps.append(Write((fault.text + "\n").encode()))
        elif fault.kind is FaultKind.FLOOD:
            extra += fault.count
        elif fault.kind is FaultKind.DUPLICATE:
            extra += 1
    return steps, extra


def pieces(line: bytes, size: int, gap: float) -> list[Step]:
    """``line`` in pieces of ``size`` bytes, ``gap`` seconds apart."""
    steps: list[Step] = []
    for start in range(0, len(line), size):
        if start and gap > 0:
            steps.append(Hold(gap))
        steps.append(Write(line[start : start + size]))
    return steps


def error_response(request_id: Any, fault: Fault) -> bytes:
    """The JSON-RPC error an ``error`` fault sends instead of the result for ``request_id``."""
    error = {"code": fault.code, "message": fault.message}
    return dumps_compact({"jsonrpc": "2.0", "id": request_id, "error": error}) + b"\n"


def withholds(faults: Sequence[Fault]) -> bool:
    """Whether the frame's content does not reach the other side as it was."""
    return any(fault.kind in ENDING or fault.kind in WITHHOLDING for fault in faults)
