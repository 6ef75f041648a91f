"""Replay a cassette as a deterministic, protocol-aware fake agent.

The pure core (no I/O, no trio): :mod:`~acp_tap.replay.matching` (normal forms, keys, the
index, relocation), :mod:`~acp_tap.replay.diff`, :mod:`~acp_tap.replay.plan` (who waits for
what), :mod:`~acp_tap.replay.engine` (the state machine) and :mod:`~acp_tap.replay.source`
(a fast cassette loader). The trio shell is :func:`acp_tap.replay.agent.serve`, imported
from its own module so that importing this package never imports trio.
"""

from __future__ import annotations

from acp_tap.replay.actions import (
    Action,
    Exit,
    Mismatch,
    OnMismatch,
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
    "Exit",
    "Mismatch",
    "OnMismatch",
    "ReplayEngine",
    "ReplayOptions",
    "ReplayStatistics",
    "Report",
    "ReportKind",
    "Send",
    "Stderr",
]
