"""``FakeAgent.connect()`` on trio's clock: recorded gaps and delay faults under autojump_clock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio
import trio.testing

from acp_tap.faults.spec import parse_faults
from acp_tap.replay.actions import ReplayOptions
from acp_tap.testing import FakeAgent
from tests.replay_support import Recording, prompt, request, result, update
from tests.test_replay_agent import Client

INIT = request(0, "initialize", {"protocolVersion": 1})
PROMPT = prompt(1, "s1", "think hard")


def thinking(gap: float) -> Recording:
    """A prompt turn whose agent thinks for ``gap`` seconds before its first chunk."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(result(0, {"protocolVersion": 1}))
    rec.c2a(PROMPT)
    rec.step = gap
    rec.a2c(update("s1", "After long thought: 42."))
    rec.step = 0.01
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    return rec


async def wait_for_answer(agent: FakeAgent, client_timeout: float) -> tuple[bool, float]:
    """A client that gives up on its prompt after ``client_timeout`` seconds: whether it got
    the first chunk in time, and when (on trio's clock) it got it or gave up."""
    async with agent.connect() as stream:
        client = Client(stream)  # type: ignore[arg-type]
        await client.send(INIT)
        assert await client.message() == result(0, {"protocolVersion": 1})
        began = trio.current_time()
        await client.send(PROMPT)
        with trio.move_on_after(client_timeout):
            assert await client.message() == update("s1", "After long thought: 42.")
            return True, trio.current_time() - began
        return False, trio.current_time() - began


@pytest.mark.parametrize(
    ("gap", "options"),
    [
        pytest.param(90.0, ReplayOptions(speed=1.0), id="recorded 90 s gap, realtime"),
        pytest.param(180.0, ReplayOptions(speed=2.0), id="recorded 180 s gap, speed 2"),
        pytest.param(
            0.01,
            ReplayOptions(faults=parse_faults(["delay:ms=90000,update=agent_message_chunk"])),
            id="delay:ms=90000",
        ),
    ],
)
async def test_the_clients_own_timeout_fires_first_in_virtual_time(
    gap: float, options: ReplayOptions, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A 90 s wait on trio's clock: a 60 s client timeout fires first, a 120 s one gets the
    chunk at 90 s; neither takes real time."""
    cassette = tmp_path / "thinking.ndjson"
    thinking(gap).write(cassette)
    wall = time.monotonic()
    impatient = FakeAgent(cassette, tmp_path, options)
    got, when = await wait_for_answer(impatient, 60.0)
    assert not got
    assert when == pytest.approx(60.0)
    patient = FakeAgent(cassette, tmp_path, options)
    got, when = await wait_for_answer(patient, 120.0)
    assert got
    assert when == pytest.approx(90.0, abs=0.05)
    assert time.monotonic() - wall < 1.0
    impatient.verify()  # nothing unused: the prompt arrived; the held frames went at the end
    patient.verify()
    assert patient.fired == impatient.fired
    assert len(patient.fired) == (1 if options.faults else 0)


async def test_faults_can_be_set_on_the_agent(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """``acp_agent.faults = [...]`` replaces the faults for later runs; ``fired`` says where."""
    cassette = tmp_path / "thinking.ndjson"
    thinking(0.01).write(cassette)
    agent = FakeAgent(cassette, tmp_path)
    agent.faults = ["crash:status=5,update=agent_message_chunk"]
    assert agent.faults == ["crash:status=5,update=agent_message_chunk"]
    async with agent.connect() as stream:
        client = Client(stream)  # type: ignore[arg-type]
        await client.send(INIT)
        await client.message()
        await client.send(PROMPT)
        assert await client.line() == b""  # the agent crashed instead of answering
    assert [run.status for run in agent.runs()] == [5]
    assert agent.fired == [
        "fault 1 (crash:status=5,update=agent_message_chunk) at frame #4 session/update "
        "(agent_message_chunk): the agent exits with status 5 instead of sending it"
    ]
    agent.verify()
    with pytest.raises(ValueError, match="unknown kind 'crsh'"):
        agent.faults = ["crsh"]
