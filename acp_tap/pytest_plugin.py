"""pytest plugin: client tests against agents replayed from cassettes (like pytest-recording).

Registered through the ``pytest11`` entry point. Use the ``acp_agent`` fixture, optionally
with ``@pytest.mark.acp_cassette("name.ndjson", ignore=[...], allow_repeats=True, ...)``.

Precedence: command line > marker > ini file.

- ``--acp-record-mode`` (ini ``acp_record_mode``): ``none`` (default: replay only, never
  start a real agent), ``once`` (record cassettes that do not exist, replay the others),
  ``new`` (as ``once``, and re-record a cassette whose replay no longer matches: the test
  runs again against the real agent), ``all`` (always record).
- ``--acp-agent "CMD ARGS"`` (ini ``acp_agent``, or the marker's ``agent=``): the real
  agent used when recording.
- ini ``acp_cassette_dir`` (default ``cassettes``): relative to each test file; cassettes
  default to ``<dir>/<test module>/<test name>.ndjson``.
- ``--acp-trace=off|on|retain-on-failure`` (ini ``acp_trace``) and ``--acp-trace-dir DIR``
  (ini ``acp_trace_dir``, default ``acp-traces/``): an HTML page of what each replay saw
  in a test (the recorded and the live conversation side by side, each mismatch or stall
  marked at its frame), named after the test; the failure report prints its path.
- ``--acp-stall-timeout SECONDS`` (ini ``acp_stall_timeout``, the marker's
  ``stall_timeout=``): client silence that makes a stall (default 1; 0: never). A stalled
  test fails within it, with what the replay held and why.
- the marker's ``faults=["crash:update=agent_message_chunk,nth=3", ...]`` and
  ``fault_seed=`` (or ``acp_agent.faults = [...]`` before the agent starts): what the
  client is sent instead (``acp-tap replay --fault``); the faults that fired are attached
  to the report, and the replay's exit status is theirs (mismatches still fail the test).
- the marker's ``realtime=True`` or ``speed=X``: the recorded gaps between frames. In
  process (``connect()``) they, and ``delay`` faults, pass on trio's clock: under
  pytest-trio's ``autojump_clock`` a 90 s gap takes no wall time, while the client's own
  timeouts run on the same clock.

Asyncio clients (the official SDK's ``acp.connect_to_agent``) use ``async with
acp_agent.asyncio_streams() as (reader, writer)`` under pytest-asyncio or anyio.

Agent authors use the ``acp_golden`` fixture the other way round: it plays the client
recorded in a cassette into their real agent (a command, or an in-process SDK agent) and
fails the test if the agent's behaviour differs (the ``acp-tap rerun`` report).

Importing this plugin never imports the SDK (``acp``).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from acp_tap.errors import AcpTapError

if TYPE_CHECKING:
    from acp_tap.pytest_golden import GoldenCheck
    from acp_tap.replay.actions import ReplayOptions
    from acp_tap.testing import FakeAgent

RECORD_MODES = ("none", "once", "new", "all")
TRACE_MODES = ("off", "on", "retain-on-failure")
_AGENTS = pytest.StashKey[list[tuple["FakeAgent", "tuple[str, ...] | None"]]]()
"""Per test: each fake agent, and the real agent to re-record it with (mode ``new``)."""
_RECORDED = pytest.StashKey[list[str]]()

MARKER = (
    "acp_cassette(name=None, *, ignore=(), allow_repeats=False, allow_unused=False, "
    "stderr=False, on_mismatch='error', stall_timeout=1.0, faults=(), fault_seed=0, "
    "realtime=False, speed=None, agent=None): the cassette the acp_agent fixture replays "
    "(default: cassettes/<module>/<test>.ndjson next to the test file)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Command-line and ini options."""
    group = parser.getgroup("acp-tap", "ACP record/replay (acp-tap)")
    group.addoption(
        "--acp-record-mode",
        choices=RECORD_MODES,
        default=None,
        help="none (default): replay only; once: record missing cassettes; "
        "new: also re-record cassettes that no longer match; all: always record",
    )
    group.addoption(
        "--acp-agent",
        default=None,
        metavar="CMD",
        help='the real agent to record, e.g. "kiro-cli acp" (split like a shell would)',
    )
    group.addoption(
        "--acp-stall-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="client silence that makes a replay stall (default 1; 0: never)",
    )
    group.addoption(
        "--acp-trace",
        choices=TRACE_MODES,
        default=None,
        help="write an HTML trace of what each replay saw: off (default), on, retain-on-failure",
    )
    group.addoption(
        "--acp-trace-dir",
        default=None,
        metavar="DIR",
        help="where traces go (default acp-traces/, relative to the rootdir)",
    )
    parser.addini("acp_record_mode", "default --acp-record-mode", default="none")
    parser.addini("acp_trace", "default --acp-trace", default="off")
    parser.addini("acp_trace_dir", "default --acp-trace-dir", default="acp-traces")
    parser.addini("acp_stall_timeout", "default --acp-stall-timeout", default="1")
    parser.addini("acp_agent", "default --acp-agent", default="")
    parser.addini(
        "acp_cassette_dir", "cassette directory, relative to each test file", default="cassettes"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line("markers", MARKER)
    config.stash[_RECORDED] = []


def record_mode(config: pytest.Config) -> str:
    """The record mode in force."""
    mode = config.getoption("--acp-record-mode") or config.getini("acp_record_mode") or "none"
    if mode not in RECORD_MODES:
        raise pytest.UsageError(
            f"acp_record_mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}"
        )
    return str(mode)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._\[\]-]+", "_", name)


def cassette_path(request: pytest.FixtureRequest) -> Path:
    """The cassette of the requesting test."""
    marker = request.node.get_closest_marker("acp_cassette")
    name = marker.args[0] if marker is not None and marker.args else None
    module = request.path.stem
    base = request.path.parent / str(request.config.getini("acp_cassette_dir"))
    if name is None:
        return base / module / f"{_safe(request.node.name)}.ndjson"
    path = Path(name)
    return path if path.is_absolute() else base / module / path


MARKER_OPTIONS = frozenset(
    {
        "ignore",
        "allow_repeats",
        "allow_unused",
        "stderr",
        "on_mismatch",
        "stall_timeout",
        "faults",
        "fault_seed",
        "realtime",
        "speed",
    }
)


def stall_timeout(config: pytest.Config, marker: pytest.Mark | None) -> float:
    """The stall timeout in force: command line > marker > ini."""
    value: Any = config.getoption("--acp-stall-timeout")
    if value is None and marker is not None:
        value = marker.kwargs.get("stall_timeout")
    if value is None:
        value = config.getini("acp_stall_timeout") or 1.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise pytest.UsageError(
            f"acp-tap stall timeout must be 0 or a positive number of seconds, not {value!r}"
        )
    return seconds


def _options(config: pytest.Config, marker: pytest.Mark | None) -> ReplayOptions:
    from acp_tap.errors import UsageError
    from acp_tap.faults.spec import parse_faults
    from acp_tap.replay.actions import OnMismatch, ReplayOptions

    kwargs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    kwargs.pop("agent", None)
    unknown = kwargs.keys() - MARKER_OPTIONS
    if unknown:
        raise pytest.UsageError(f"acp_cassette: unknown option(s) {', '.join(sorted(unknown))}")
    specs = kwargs.get("faults", ())
    try:
        faults = parse_faults([specs] if isinstance(specs, str) else list(specs))
    except UsageError as exc:
        pytest.fail(f"acp-tap: acp_cassette(faults=...): {exc}", pytrace=False)
    speed = kwargs.get("speed")
    if kwargs.get("realtime"):
        speed = 1.0
    if speed is not None and not 0 < float(speed) < math.inf:
        raise pytest.UsageError(f"acp_cassette: speed must be a positive number, not {speed!r}")
    return ReplayOptions(
        faults=faults,
        fault_seed=int(kwargs.get("fault_seed", 0)),
        speed=None if speed is None else float(speed),
        ignore=tuple(kwargs.get("ignore", ())),
        allow_repeats=bool(kwargs.get("allow_repeats", False)),
        allow_unused=bool(kwargs.get("allow_unused", False)),
        on_mismatch=OnMismatch(kwargs.get("on_mismatch", "error")),
        stderr=bool(kwargs.get("stderr", False)),
        stall_timeout=stall_timeout(config, marker),
    )


def _real_agent(
    request: pytest.FixtureRequest, marker: pytest.Mark | None
) -> tuple[str, ...] | None:
    command = request.config.getoption("--acp-agent")
    if not command and marker is not None:
        command = marker.kwargs.get("agent")
    if not command:
        command = request.config.getini("acp_agent")
    if not command:
        return None
    return tuple(shlex.split(command) if isinstance(command, str) else command)


@pytest.fixture
def acp_agent(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeAgent]:
    """The agent for this test: ``.argv`` to spawn it, ``async with .connect()`` in-process
    (trio), ``async with .asyncio_streams() as (reader, writer)`` in-process (asyncio).

    It replays the test's cassette (see the ``acp_cassette`` marker), or records the real
    agent into it in a recording mode. After the test, a client message that matched
    nothing, or recorded messages never used, fail the test with a diff and frame numbers.
    ``.transcript`` holds what was said: ``.client_messages``, ``.agent_messages``,
    ``.turns`` (agent text with chunks joined, tool calls, stop reason).
    """
    from acp_tap.testing import FakeAgent

    marker = request.node.get_closest_marker("acp_cassette")
    cassette = cassette_path(request)
    mode = record_mode(request.config)
    real_agent = _real_agent(request, marker)
    record = mode == "all" or (mode in ("once", "new") and not cassette.exists())
    if record and real_agent is None:
        pytest.fail(
            f"acp-tap: record mode {mode!r} needs the real agent to record {cassette}: "
            'pass --acp-agent "CMD", set acp_agent in the ini file, or acp_cassette(agent=...)',
            pytrace=False,
        )
    if not record and not cassette.exists():
        pytest.fail(
            f"acp-tap: cassette {cassette} does not exist; record it with "
            '--acp-record-mode=once --acp-agent "CMD" '
            "(record mode is none: no real agent is started)",
            pytrace=False,
        )
    if record:
        cassette.parent.mkdir(parents=True, exist_ok=True)
    agent = FakeAgent(
        cassette,
        tmp_path_factory.mktemp("acp-tap"),
        _options(request.config, marker),
        real_agent if record else None,
    )
    rerecord = real_agent if mode == "new" and not record else None
    request.node.stash.setdefault(_AGENTS, []).append((agent, rerecord))
    yield agent
    if agent.recording and agent.cassette.exists():
        request.config.stash[_RECORDED].append(str(agent.cassette))


@pytest.fixture
def acp_golden(request: pytest.FixtureRequest) -> GoldenCheck:
    """Agent regression tests: ``acp_golden("golden.ndjson")`` plays the recorded client
    into the real agent (``agent=``, else ``--acp-agent``, the marker's ``agent=``, ini
    ``acp_agent``) and fails the test with the differences, if any. ``agent=`` may also be
    an in-process agent of the official SDK (an ``acp.Agent``, or a factory taking the
    client connection): played over in-memory asyncio streams, no subprocess. Options
    are those of ``acp-tap rerun``: ``cwd``, ``fs_root``, ``write_dir``, ``output``,
    ``ignore``, ``timeout``, ``max_time``, ``env`` (not ``output`` and ``env`` in-process).
    ``await acp_golden.check(...)`` in async tests.
    """
    from acp_tap.pytest_golden import GoldenCheck

    marker = request.node.get_closest_marker("acp_cassette")
    return GoldenCheck(_real_agent(request, marker), request.path.parent, request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After the test body: verify each replay (writing its trace as ``--acp-trace`` says);
    in ``new`` mode, re-record on a mismatch."""
    failure: BaseException | None = None
    try:
        yield
    except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001 - any test failure; skips pass through
        failure = exc
    from acp_tap.testing import ReplayMismatchError

    problems = []
    agents: list[tuple[FakeAgent, tuple[str, ...] | None]] = item.stash.get(_AGENTS, [])
    for number, (agent, rerecord) in enumerate(agents, start=1):
        transcript = agent.transcript
        if transcript.lines:
            item.add_report_section("call", "acp-tap transcript", transcript.render())
        if agent.options.faults and (fired := agent.fired):
            item.add_report_section("call", "acp-tap faults", "\n".join(fired))
        try:
            agent.verify()
            mismatch = None
        except ReplayMismatchError as exc:
            mismatch = exc
        if mismatch is not None and rerecord is not None:
            agent.real_agent = rerecord
            note = f"the replay no longer matched: re-recorded {agent.cassette}\n{mismatch}"
            item.add_report_section("call", "acp-tap", note)
            item.runtest()
            item.config.stash[_RECORDED].append(str(agent.cassette))
            failure = None
            continue
        trace = _trace(item, agent, number, failed=failure is not None or mismatch is not None)
        if mismatch is not None:
            problems.append(str(mismatch) + (f"\ntrace: {trace}" if trace else ""))
    if problems:
        text = "\n\n".join(problems)
        if failure is None:
            raise pytest.fail.Exception(text, pytrace=False)
        item.add_report_section("call", "acp-tap replay", text)
    if failure is not None:
        raise failure


def trace_mode(config: pytest.Config) -> str:
    """The ``--acp-trace`` mode in force (command line > ini)."""
    mode = config.getoption("--acp-trace") or config.getini("acp_trace") or "off"
    if mode not in TRACE_MODES:
        raise pytest.UsageError(f"acp_trace must be one of {', '.join(TRACE_MODES)}, not {mode!r}")
    return str(mode)


def trace_path(item: pytest.Item, number: int) -> Path:
    """Where the trace of the ``number``-th fake agent of ``item`` goes (one name per test,
    so parallel workers never share a file)."""
    config = item.config
    folder = Path(config.getoption("--acp-trace-dir") or config.getini("acp_trace_dir"))
    if not folder.is_absolute():
        folder = config.rootpath / folder
    suffix = f"-{number}" if number > 1 else ""
    return folder / f"{_safe(item.nodeid)[:200]}{suffix}.html"


def _trace(item: pytest.Item, agent: FakeAgent, number: int, *, failed: bool) -> Path | None:
    """Write the test's trace when the mode asks for it (else remove a stale one)."""
    mode = trace_mode(item.config)
    if mode == "off":
        return None
    path = trace_path(item, number)
    if mode == "retain-on-failure" and not failed:
        if path.is_file() and not path.is_symlink():
            path.unlink()
        return None
    try:
        written = agent.write_trace(path, f"acp-tap trace · {item.nodeid}")
    except (OSError, AcpTapError) as exc:
        item.add_report_section("call", "acp-tap trace", f"not written: {exc}")
        return None
    if not written:
        return None
    item.add_report_section("call", "acp-tap trace", f"{path}")
    return path


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """List the cassettes recorded in this run."""
    recorded = config.stash.get(_RECORDED, [])
    if recorded:
        terminalreporter.section("acp-tap")
        for path in dict.fromkeys(recorded):
            terminalreporter.write_line(f"recorded {path}")
