"""What each torture run did, as a table or JSON, and the verdict. Pure."""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from typing import Any

import attrs

from acp_tap.torture.scenarios import Scenario

STDERR_SHOWN = 60
"""Characters of the client's last stderr line shown in the table (JSON has it all)."""


@attrs.frozen
class Outcome:
    """One client run."""

    scenario: Scenario
    exit_status: int | None  # None: killed (by a signal, or at the timeout)
    signal: int | None  # the signal that killed it, unless acp-tap did at the timeout
    seconds: float
    hung: bool  # still running at the timeout: killed
    closed_stdin: bool | None  # None: the agent never ran, or exited first (a crash)
    stderr: str  # the last line of its stderr

    @property
    def failed(self) -> bool:
        """Whether this run counts against the client (hung, or killed by a signal)."""
        return self.hung or self.signal is not None

    def to_json(self) -> dict[str, Any]:
        """The fields of one run."""
        return {
            "scenario": self.scenario.name,
            "fault": self.scenario.fault,
            "exit_status": self.exit_status,
            "signal": self.signal,
            "seconds": self.seconds,
            "hung": self.hung,
            "closed_stdin": self.closed_stdin,
            "stderr": self.stderr,
        }


def status_text(outcome: Outcome) -> str:
    """``0``, ``SIGSEGV``, or ``killed`` (at the timeout)."""
    if outcome.hung:
        return "killed"
    if outcome.signal is not None:
        try:
            return signal.Signals(outcome.signal).name
        except ValueError:
            return f"signal {outcome.signal}"
    return str(outcome.exit_status)


def _yes(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


@attrs.frozen
class Table:
    """Rows printed one at a time as the runs end, aligned for the scenarios to come."""

    widths: tuple[int, int]  # scenario and fault columns

    @classmethod
    def of(cls, scenarios: Sequence[Scenario]) -> Table:
        """Columns wide enough for every scenario."""
        name = max(len("scenario"), *(len(s.name) for s in scenarios))
        fault = max(len("fault"), *(len(s.fault or "-") for s in scenarios))
        return cls((name, fault))

    def _row(self, cells: Sequence[str]) -> str:
        name, fault, status, seconds, hung, closed, stderr = cells
        line = (
            f"{name:<{self.widths[0]}}  {fault:<{self.widths[1]}}  {status:>7}  {seconds:>7}  "
            f"{hung:<4}  {closed:<12}  {stderr}"
        )
        return line.rstrip()

    def header(self) -> str:
        """The column names."""
        return self._row(
            ("scenario", "fault", "status", "time", "hung", "closed stdin", "last stderr line")
        )

    def row(self, outcome: Outcome) -> str:
        """One run."""
        stderr = outcome.stderr
        if len(stderr) > STDERR_SHOWN:
            stderr = stderr[: STDERR_SHOWN - 1] + "…"
        return self._row(
            (
                outcome.scenario.name,
                outcome.scenario.fault or "-",
                status_text(outcome),
                f"{outcome.seconds:.2f}s",
                "yes" if outcome.hung else "no",
                _yes(outcome.closed_stdin),
                stderr,
            )
        )


def summary(outcomes: Sequence[Outcome]) -> str:
    """The last line: how many runs hung or were killed by a signal."""
    bad = [o.scenario.name for o in outcomes if o.failed]
    if not bad:
        return f"{len(outcomes)} runs: the client neither hung nor died of a signal"
    return f"{len(bad)} of {len(outcomes)} runs hung or died of a signal: {', '.join(bad)}"


def to_json(outcomes: Sequence[Outcome]) -> str:
    """A JSON list of the runs."""
    return json.dumps([o.to_json() for o in outcomes], indent=2, ensure_ascii=False)
