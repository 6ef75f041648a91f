"""The official ACP SDK client and agent cannot tell the recording proxy is there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from acp_tap.cassette.model import Direction
from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, PYTHON

PEERS = Path(__file__).parent / "peers"
DEMO_AGENT = [PYTHON, "-m", "acp_tap.demo.agent"]
SDK_AGENT = [PYTHON, str(PEERS / "sdk_agent.py")]


def observe(scenario: str, agent: list[str]) -> dict[str, Any]:
    """Run the SDK client scenario against ``agent`` and return what it observed."""
    done = subprocess.run(
        [sys.executable, str(PEERS / "sdk_client.py"), "--scenario", scenario, "--", *agent],
        capture_output=True,
        timeout=60,
        check=True,
    )
    observed: dict[str, Any] = json.loads(done.stdout)
    return observed


@pytest.mark.parametrize(
    ("scenario", "agent"),
    [
        pytest.param("basic", DEMO_AGENT, id="demo-basic"),
        pytest.param("reject", DEMO_AGENT, id="demo-reject"),
        pytest.param("load", DEMO_AGENT, id="demo-load"),
        pytest.param("terminal", DEMO_AGENT, id="demo-terminal"),
        pytest.param("basic", SDK_AGENT, id="sdk-agent-basic"),
    ],
)
def test_sdk_client_observes_the_same_conversation_through_the_proxy(
    tmp_path: Path, scenario: str, agent: list[str]
) -> None:
    """The SDK client sees exactly the same conversation with and without acp-tap in between."""
    cassette = tmp_path / "c.ndjson"
    direct = observe(scenario, agent)
    proxied = observe(scenario, [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *agent])
    assert proxied == direct
    recorded = load(cassette)
    assert recorded.footer is not None
    assert recorded.footer.status == 0
    sent = [f.message() for f in recorded.frames if f.dir is Direction.CLIENT_TO_AGENT]
    methods = [m["method"] for m in sent if "method" in m]
    assert methods[:2] == ["initialize", "session/new"]
    assert [s["method"] for s in direct["sent"]] == methods
    notified = [
        f.message()
        for f in recorded.frames
        if f.dir is Direction.AGENT_TO_CLIENT and "id" not in f.message()
    ]
    assert [n["params"] for n in notified] == [n["params"] for n in direct["notifications"]]
