"""Tie the agent's process group to ``acp-tap record``: it ends when the session ends, and
when ``record`` dies, even by SIGKILL.

The agent runs in its own process group (so a terminal's ^C reaches ``record`` alone).
Linux's parent-death signal would not do: it fires when the *thread* that spawned the
child exits, and trio spawns from worker threads that retire after ~10 s idle. So a
watchdog joins the agent's group: a tiny ``sh`` whose stdin is a pipe only ``record``
holds open. When ``record`` dies, the pipe reaches end of file and the watchdog ends the
group (SIGTERM, then SIGKILL a second later; it ignores SIGTERM itself). While the
watchdog lives, the group exists, so its id cannot be reused by an unrelated process.

At the end of a session, :meth:`AgentGroup.end` sends SIGTERM to whatever is left of the
group (an agent's forked helpers), waits up to ``grace`` seconds for it to go, then SIGKILLs
the group, watchdog included, and reaps the watchdog.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import attrs

WATCHDOG = (
    'trap "" TERM INT HUP; read _ignored; '
    "kill -s TERM -- -$1 2>/dev/null; sleep 1; kill -s KILL -- -$1 2>/dev/null"
)
"""The watchdog's script: wait for end of file on stdin, then end process group ``$1``."""

POLL = 0.05
"""Seconds between looks at what is left of the group while it is given time to exit."""


def members(pgid: int, *, besides: int | None = None) -> list[int]:
    """The live processes of group ``pgid`` (from /proc; zombies do not count)."""
    found: list[int] = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:  # no /proc: nothing to wait for, the group is killed anyway
        return found
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == besides:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


@attrs.define(eq=False)
class AgentGroup:
    """The agent's process group and its watchdog."""

    pgid: int
    _watchdog: subprocess.Popen[bytes] | None = None
    _alarm: int = -1  # the pipe's write end: record's end of the watchdog's stdin

    @classmethod
    def watch(cls, pgid: int) -> AgentGroup:
        """Start the watchdog for group ``pgid`` (the agent's pid). Without ``sh``, or if
        the group is already gone, there is none: the group is still ended by :meth:`end`."""
        read, write = os.pipe2(os.O_CLOEXEC)
        try:
            watchdog = subprocess.Popen(
                ["/bin/sh", "-c", WATCHDOG, "acp-tap-watchdog", str(pgid)],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                process_group=pgid,
            )
        except (OSError, subprocess.SubprocessError):
            os.close(write)
            return cls(pgid)
        finally:
            os.close(read)
        return cls(pgid, watchdog, write)

    def end(self, grace: float) -> None:
        """End what is left of the group (SIGTERM, ``grace`` s, SIGKILL); reap the watchdog."""
        besides = self._watchdog.pid if self._watchdog is not None else None
        if members(self.pgid, besides=besides):
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while members(self.pgid, besides=besides) and time.monotonic() < deadline:
                time.sleep(POLL)
        self._signal(signal.SIGKILL)
        if self._watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(5)
        if self._alarm >= 0:
            os.close(self._alarm)
            self._alarm = -1

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signum)


def running(pid: int | None) -> bool:
    """Whether process ``pid`` still runs here (a zombie does not)."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
