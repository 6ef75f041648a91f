"""The shipped fixtures: real recordings whose headers say nothing about the machine that made
them, with the seeded session ids the README's examples use."""

from __future__ import annotations

from pathlib import Path

import pytest

from acp_tap.cassette.reader import load

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures").glob("*.ndjson"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_headers_are_neutral(path: Path) -> None:
    """The agent command is as a user types it, the directory is the client's project, and no
    path of the maintainer's interpreter or checkout is left anywhere."""
    header = load(path).header
    assert header.argv[0] == "python"
    assert header.argv[1:] in (
        ("-m", "acp_tap", "demo-agent"),
        ("tests/peers/sdk_agent.py",),
        ("tests/peers/hostile_agent.py",),
    )
    assert header.cwd == "/home/user/project"
    assert (header.platform, header.pid) == ("Linux", 4242)
    text = path.read_text()
    assert "/work/" not in text and "/root/" not in text and "/.pyenv/" not in text


def test_the_readme_session_id_is_the_prompt_turn_fixtures() -> None:
    """The session id README.md's spawned-client example hard-codes is the fixture's."""
    readme = (ROOT / "README.md").read_text()
    session = "e00931f9-b555-49fc-abec-ca568b0d0998"
    assert f'session = "{session}"' in readme
    cassette = load(ROOT / "fixtures" / "prompt-turn.ndjson")
    assert any(session.encode() in frame.raw for frame in cassette.frames)
