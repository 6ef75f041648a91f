"""Replay a cassette as a deterministic, protocol-aware fake agent.

The pure core (no I/O, no trio): :mod:`~acp_tap.replay.plan` (who waits for what),
:mod:`~acp_tap.replay.compiler` (recording -> plan), :mod:`~acp_tap.replay.engine` (the
state machine) and :mod:`~acp_tap.replay.source` (read and compile in one pass), on top of
:mod:`acp_tap.matching` (normal forms, the index, differences, ids, relocation, loading).
The trio shell is :func:`acp_tap.replay.agent.serve`, imported from its own module so that
importing this package never imports trio.
"""

from __future__ import annotations

from acp_tap.replay.actions import (
    Action,
    CloseOutput,
    Exit,
    Mismatch,
    OnMismatch,
    Pause,
    ReplayOptions,
    ReplayStatistics,
    Report,
    ReportKind,
    Send,
    Stderr,
)
from acp_tap.replay.engine import MISMATCH_CODE, ReplayEngine

__all__ = [
    "MISMATCH_CODE",
    "Action",
    "CloseOutput",
    "Exit",
    "Mismatch",
    "OnMismatch",
    "Pause",
    "ReplayEngine",
    "ReplayOptions",
    "ReplayStatistics",
    "Report",
    "ReportKind",
    "Send",
    "Stderr",
]
