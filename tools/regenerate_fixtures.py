"""Regenerate the cassettes in fixtures/ by recording real sessions through ``acp-tap record``.

    python tools/regenerate_fixtures.py [--only NAME ...] [--out DIR]

Every cassette is a real recording: the scripted client (acp_tap.demo.client) drives the
bundled demo agent, the official ACP Python SDK's example-style agent in
tests/peers/sdk_agent.py, or the agent full of hostile text in tests/peers/hostile_agent.py,
through the recording proxy. Nothing here is written by hand.
The demo agent is seeded, so ids and messages are stable across runs; only timings and
the header's start time change. The header is then made neutral: the agent command as a
user would type it (``python -m acp_tap demo-agent``, not this interpreter's path), the
client's project directory instead of this checkout, and no host details, so a shipped
fixture says nothing about the machine that made it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import trio

from acp_tap.cassette.codec import encode_record
from acp_tap.cassette.model import Header
from acp_tap.cassette.reader import load
from acp_tap.demo.client import (
    AgentError,
    AgentGone,
    Policy,
    ScriptedClient,
    handshake,
    record_argv,
    run_script,
    text_prompt,
)

ROOT = Path(__file__).resolve().parent.parent
DEMO = [sys.executable, "-m", "acp_tap", "demo-agent"]
SDK_AGENT = [sys.executable, str(ROOT / "tests" / "peers" / "sdk_agent.py")]
HOSTILE_AGENT = [sys.executable, str(ROOT / "tests" / "peers" / "hostile_agent.py")]
NEUTRAL_ARGV = {
    tuple(DEMO): ("python", "-m", "acp_tap", "demo-agent"),
    tuple(SDK_AGENT): ("python", "tests/peers/sdk_agent.py"),
    tuple(HOSTILE_AGENT): ("python", "tests/peers/hostile_agent.py"),
}
"""The agent commands as a user would type them, for the shipped headers."""
CWD = "/home/user/project"  # the client's project directory in every fixture
NOTES = f"{CWD}/notes.md"
FILES = {NOTES: "# Notes\n\n- ship acp-tap\n- write more tests\n"}

Script = Callable[[ScriptedClient], Awaitable[None]]


@attrs.frozen
class Fixture:
    """One cassette: what it shows, how it is made, and the agent's expected exit status."""

    name: str
    about: str
    script: Script
    agent: list[str] = attrs.field(factory=lambda: list(DEMO))
    policy: Policy = attrs.field(factory=lambda: Policy(files=FILES))
    status: int = 0


async def handshake_only(client: ScriptedClient) -> None:
    await handshake(client, CWD)


async def prompt_turn(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request("session/prompt", text_prompt(session, "Explain what acp-tap does"))


async def tool_call(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request(
        "session/prompt", text_prompt(session, "Please write a greeting with a tool")
    )


async def fs_read(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request("session/prompt", text_prompt(session, f"read {NOTES} and summarise it"))


async def terminal(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request("session/prompt", text_prompt(session, "run ls -la"))


async def session_load(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request("session/prompt", text_prompt(session, "Remember the word tangerine"))
    await client.request("session/prompt", text_prompt(session, "What was the word?"))
    await client.request("session/load", {"sessionId": session, "cwd": CWD, "mcpServers": []})


async def cancelled_turn(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    async with trio.open_nursery() as nursery:

        async def cancel_after_two_updates() -> None:
            await client.wait_updates(3)  # _kiro.dev notifications are not updates
            await client.notify("session/cancel", {"sessionId": session})

        nursery.start_soon(cancel_after_two_updates)
        result = await client.request("session/prompt", text_prompt(session, "slow answer please"))
        assert result == {"stopReason": "cancelled"}, result


async def modes_and_models(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request("session/set_mode", {"sessionId": session, "modeId": "kiro_planner"})
    await client.request("session/set_model", {"sessionId": session, "modelId": "claude-haiku-4.5"})
    await client.request("session/prompt", text_prompt(session, "Plan the next release"))


async def agent_error(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    try:
        await client.request("session/prompt", text_prompt(session, "trigger an error"))
    except AgentError:
        return
    raise AssertionError("the demo agent should have answered with an error")


async def agent_crash(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    try:
        await client.request("session/prompt", text_prompt(session, "crash now"))
    except AgentGone:
        return
    raise AssertionError("the demo agent should have crashed")


async def sdk_agent_turn(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    await client.request("session/prompt", text_prompt(session, "Hello SDK agent"))


async def hostile_text(client: ScriptedClient) -> None:
    session = await handshake(client, CWD)
    prompt = "<script>window.__acpTapPwned='prompt'</script> see javascript:alert(1)"
    await client.request("session/prompt", text_prompt(session, prompt))
    try:
        await client.request("session/prompt", text_prompt(session, "now fail </script>"))
    except AgentError:
        return
    raise AssertionError("the hostile agent should have answered with an error")


FIXTURES = [
    Fixture(
        "handshake",
        "initialize with kiro-style capabilities, session/new with modes and models",
        handshake_only,
    ),
    Fixture("prompt-turn", "thought and message chunks, _kiro.dev/metadata, end_turn", prompt_turn),
    Fixture(
        "permission-allowed",
        "tool call, permission request (string UUID id) allowed, fs write",
        tool_call,
    ),
    Fixture(
        "permission-rejected",
        "tool call, permission request rejected, the tool call fails",
        tool_call,
        policy=Policy(permission="reject_once", files=FILES),
    ),
    Fixture("fs-read", "fs/read_text_file round trip", fs_read),
    Fixture("terminal", "terminal/create, wait_for_exit, output, release", terminal),
    Fixture(
        "session-load",
        "two turns, then session/load replays the history before answering",
        session_load,
    ),
    Fixture("cancelled-turn", "session/cancel mid-turn, stopReason cancelled", cancelled_turn),
    Fixture(
        "modes-and-models", "session/set_mode and kiro's legacy session/set_model", modes_and_models
    ),
    Fixture("agent-error", "the agent answers a prompt with a JSON-RPC error", agent_error),
    Fixture(
        "agent-crash", "the agent crashes mid-turn and exits with status 3", agent_crash, status=3
    ),
    Fixture(
        "sdk-agent",
        "the official ACP Python SDK agent: chunks, a tool call, a permission",
        sdk_agent_turn,
        agent=SDK_AGENT,
    ),
    Fixture(
        "hostile-text",
        "markup, scripts, URLs and terminal escapes in every text a viewer shows (must stay inert)",
        hostile_text,
        agent=HOSTILE_AGENT,
    ),
]


async def regenerate(fixture: Fixture, out: Path) -> None:
    """Record one fixture and check it ended as expected."""
    path = out / f"{fixture.name}.ndjson"
    status, _ = await run_script(record_argv(path, fixture.agent), fixture.script, fixture.policy)
    if status != fixture.status:
        raise SystemExit(f"{fixture.name}: the agent exited {status}, expected {fixture.status}")
    neutralise_header(path, NEUTRAL_ARGV[tuple(fixture.agent)])
    cassette = load(path)
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(cassette.frames)} frames"
    )


def neutralise_header(path: Path, argv: tuple[str, ...]) -> None:
    """Give the cassette at ``path`` a header without this machine's paths and details."""
    lines = path.read_bytes().splitlines(keepends=True)
    header = load(path).header
    neutral = attrs.evolve(header, argv=argv, cwd=CWD, platform="Linux", pid=4242)
    assert isinstance(neutral, Header)
    path.write_bytes(encode_record(neutral) + b"".join(lines[1:]))


def write_index(out: Path) -> None:
    """fixtures/README.md: what each cassette shows."""
    lines = [
        "# Fixtures",
        "",
        "Real recordings made by `python tools/regenerate_fixtures.py` through `acp-tap record`",
        "(the bundled demo agent, the official ACP Python SDK agent, or the hostile-text agent",
        "in tests/peers); never edited by hand.",
        f"The client's project directory is `{CWD}` in all of them.",
        "",
        "| cassette | what it shows |",
        "| --- | --- |",
    ]
    lines += [f"| `{f.name}.ndjson` | {f.about} |" for f in FIXTURES]
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", nargs="*", default=None, metavar="NAME", help="regenerate only these"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "fixtures", help="output directory")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [f for f in FIXTURES if args.only is None or f.name in args.only]
    for fixture in chosen:
        trio.run(regenerate, fixture, args.out)
    if args.only is None:
        write_index(args.out)


if __name__ == "__main__":
    main()
