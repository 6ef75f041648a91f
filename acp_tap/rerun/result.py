"""What a client-side replay asks its shell to do, and what it found. Pure values."""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from acp_tap.cassette.model import Frame
from acp_tap.errors import AcpTapError
from acp_tap.inspect.diff import Change

STDERR_SHOWN = 20
"""Lines of the agent's stderr shown after a problem (hang, crash)."""


class AgentChangedError(AcpTapError, AssertionError):
    """The live agent did not behave as recorded (a test failure)."""


@attrs.frozen(kw_only=True)
class ClientReplayOptions:
    """How a recorded client is replayed into a live agent (the ``acp-tap rerun`` options)."""

    ignore: tuple[str, ...] = ()  # message paths not compared, e.g. "result.agentInfo.version"
    cwd: str | None = None  # the live working directory standing for the recorded one
    fs_root: bool = False  # ask the shell to read files for fs/read_text_file (ReadFile)
    write_files: bool = False  # hand fs/write_text_file contents to the shell (WriteFile)
    timeout: float = 30.0  # seconds the agent may stay silent while an answer is awaited
    max_time: float | None = None  # seconds the whole replay may take
    settle: float = 0.2  # quiet seconds before closing the agent's input early (see engine)

    @classmethod
    def of(
        cls,
        *,
        cwd: str | os.PathLike[str] | None = None,
        fs_root: str | os.PathLike[str] | None = None,
        write_dir: str | os.PathLike[str] | None = None,
        ignore: Sequence[str] = (),
        timeout: float = 30.0,
        max_time: float | None = 600.0,
    ) -> ClientReplayOptions:
        """The options of a rerun given as ``acp-tap rerun`` (and ``rerun_cassette``) take
        them: directories as paths, an absent one meaning the feature is off."""
        return cls(
            ignore=tuple(ignore),
            cwd=os.path.abspath(cwd) if cwd is not None else None,
            fs_root=fs_root is not None,
            write_files=write_dir is not None,
            timeout=timeout,
            max_time=max_time,
        )


@attrs.frozen
class ClientReplayResult:
    """How the live agent's behaviour differs from the recording."""

    changes: tuple[Change, ...]  # as `acp-tap diff` reports them, plus agent request changes
    problems: tuple[str, ...]  # the agent hung, crashed, or the replay could not finish
    exit_status: int | None  # the live agent's (128+N: killed by signal N)
    live: tuple[Frame, ...]  # what was said on stdio, live (as sent and received)
    stderr: tuple[str, ...] = ()  # the agent's last stderr lines (the shell fills them in)

    @property
    def same(self) -> bool:
        """Whether the agent behaved as recorded."""
        return not self.changes and not self.problems

    @property
    def status(self) -> int:
        """The ``acp-tap rerun`` exit status: 0 the same, 1 different."""
        return 0 if self.same else 1

    def render(self) -> str:
        """The report: problems, then the differences (empty when the agent behaved the same)."""
        lines = [f"problem: {problem}" for problem in self.problems]
        if self.problems and self.stderr:
            lines.append(f"agent stderr (last {len(self.stderr)} lines):")
            lines.extend(f"    {line}" for line in self.stderr)
        lines.extend(change.render() for change in self.changes)
        return "".join(line + "\n" for line in lines)

    def verdict(self, cassette: str) -> str:
        """One line: how many differences from the recording ``cassette``."""
        if self.same:
            return f"no differences between {cassette} and the live agent"
        n = len(self.changes) + len(self.problems)
        return f"{n} difference(s) between {cassette} and the live agent"

    def assert_same(self, cassette: str = "the recording") -> None:
        """Raise :class:`AgentChangedError` with the report unless the agent behaved the same."""
        if not self.same:
            raise AgentChangedError(f"{self.verdict(cassette)}\n{self.render()}")


@attrs.frozen
class ToAgent:
    """Write these bytes (whole lines) to the agent's stdin."""

    data: bytes


@attrs.frozen
class CloseInput:
    """Close the agent's stdin: the recorded client has said everything."""


@attrs.frozen
class ReadFile:
    """Read ``path`` (relative, inside ``--fs-root``); hand it to ``engine.file_read(token)``."""

    token: int
    path: str


@attrs.frozen
class WriteFile:
    """Write ``content`` to ``path`` (relative, inside ``--write-dir``)."""

    path: str
    content: str


@attrs.frozen
class Kill:
    """Stop the agent (it hung, or the replay ran out of time); then report its exit."""

    reason: str


@attrs.frozen
class Finished:
    """The replay is over. Always the last action."""

    result: ClientReplayResult


ClientAction = ToAgent | CloseInput | ReadFile | WriteFile | Kill | Finished
