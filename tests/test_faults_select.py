"""Fault selection and effects: globs, nth, one-shot kinds, seeded p, and what replaces a frame."""

from __future__ import annotations

import pytest

from acp_tap.cassette.model import Direction
from acp_tap.faults.effect import End, Hold, Noise, Write, effect, effective, hold_seconds, pieces
from acp_tap.faults.select import Selector, Target, draw
from acp_tap.faults.spec import FaultKind, parse_fault, parse_faults
from acp_tap.wire.jsonrpc import Kind
from tests.replay_support import result, update

CHUNKS = [Target.of(seq, update("s", str(seq))) for seq in range(10, 20)]
THOUGHT = Target(5, Kind.NOTIFICATION, "session/update", "agent_thought_chunk")
ANSWER = Target.of(30, result(2, {"stopReason": "end_turn"}), "session/prompt")


def fired(specs: list[str], targets: list[Target], seed: int = 0) -> list[list[int]]:
    """Per fault, the seqs of the frames it fired on."""
    faults = parse_faults(specs)
    selector = Selector.of(faults, seed)
    hits: list[list[int]] = [[] for _ in faults]
    for target in targets:
        for fault in selector.pick(target):
            hits[fault.position - 1].append(target.seq)
    return hits


def test_targets_name_methods_and_update_kinds() -> None:
    """A response is named by the method it answers; a session/update by its kind."""
    assert CHUNKS[0] == Target(10, Kind.NOTIFICATION, "session/update", "agent_message_chunk")
    assert Target(30, Kind.RESPONSE, "session/prompt") == ANSWER
    assert ANSWER.describe() == "frame #30 the answer to session/prompt"
    assert CHUNKS[0].describe() == "frame #10 session/update (agent_message_chunk)"
    assert Target(3).describe() == "frame #3 (a line that is not JSON)"


def test_without_selectors_most_kinds_hit_every_frame_and_one_shot_kinds_the_first() -> None:
    """drop hits every frame; hang, crash, close hit the first; error the first result."""
    targets = [THOUGHT, *CHUNKS[:3], ANSWER]
    assert fired(["drop", "hang", "crash", "close", "error"], targets) == [
        [5, 10, 11, 12, 30],
        [5],
        [5],
        [5],
        [30],
    ]


def test_globs_nth_and_kind_restrictions() -> None:
    """method and update globs select; nth picks one of the selected; flood needs a
    notification and error a result."""
    targets = [THOUGHT, *CHUNKS[:4], ANSWER]
    assert fired(
        [
            "drop:update=agent_message_*",
            "crash:update=agent_message_chunk,nth=3",
            "duplicate:method=session/prompt",
            "flood:method=session/prompt",
            "error:method=session/update",
            "garbage:update=*thought*,nth=2",
        ],
        targets,
    ) == [[10, 11, 12, 13], [12], [30], [], [], []]


def test_p_is_drawn_from_seed_position_and_seq() -> None:
    """The same seed picks the same frames; another seed or position picks others."""
    targets = [Target.of(seq, update("s", "x")) for seq in range(1, 201)]
    first = fired(["drop:p=0.3"], targets, seed=7)[0]
    assert first == fired(["drop:p=0.3"], targets, seed=7)[0]
    assert first != fired(["drop:p=0.3"], targets, seed=8)[0]
    assert first != fired(["hang:nth=1000", "drop:p=0.3"], targets, seed=7)[1]
    assert 40 < len(first) < 80
    assert first == [t.seq for t in targets if draw(7, 1, t.seq) < 0.3]


def test_a_one_shot_kind_with_p_fires_on_the_first_frame_its_draw_selects() -> None:
    """crash:p=0.5 fires once, at the first frame whose draw is under 0.5."""
    targets = [Target.of(seq, update("s", "x")) for seq in range(1, 50)]
    expected = next(t.seq for t in targets if draw(3, 1, t.seq) < 0.5)
    assert fired(["crash:p=0.5"], targets, seed=3) == [[expected]]


def test_the_selector_counts_each_direction_apart() -> None:
    """A dir=c2a fault sees only client frames."""
    faults = (parse_fault("drop:dir=c2a,nth=2", 1, record=True),)
    selector = Selector.of(faults)
    assert selector.pick(CHUNKS[0]) == ()
    assert selector.pick(CHUNKS[1]) == ()
    assert selector.pick(CHUNKS[2], Direction.CLIENT_TO_AGENT) == ()
    assert selector.pick(CHUNKS[3], Direction.CLIENT_TO_AGENT) == faults


LINE = b'{"jsonrpc":"2.0","method":"session/update"}\n'


@pytest.mark.parametrize(
    ("specs", "steps"),
    [
        pytest.param(["delay:ms=250"], [Hold(0.25), Write(LINE)], id="delay"),
        pytest.param(
            ["slice:bytes=20,gap_ms=5"],
            [Write(LINE[:20]), Hold(0.005), Write(LINE[20:40]), Hold(0.005), Write(LINE[40:])],
            id="slice",
        ),
        pytest.param(["hang"], [End(FaultKind.HANG)], id="hang"),
        pytest.param(["crash:status=9"], [End(FaultKind.CRASH, 9)], id="crash"),
        pytest.param(["close"], [End(FaultKind.CLOSE)], id="close"),
        pytest.param(["drop"], [], id="drop"),
        pytest.param(["duplicate"], [Write(LINE * 2)], id="duplicate"),
        pytest.param(["garbage:text=log"], [Write(b"log\n"), Write(LINE)], id="garbage"),
        pytest.param(["corrupt"], [Write(LINE[:21] + b"\n")], id="corrupt"),
        pytest.param(["error"], [Write(b"ERR\n")], id="error"),
        pytest.param(["stderr:text=n,count=3"], [Noise(b"n\nn\nn\n"), Write(LINE)], id="stderr"),
        pytest.param(["flood:count=2"], [Write(LINE * 3)], id="flood"),
        pytest.param(
            ["duplicate", "corrupt", "delay:ms=10", "garbage:text=g"],
            [Hold(0.01), Write(b"g\n"), Write(LINE[:21] + b"\n" + LINE[:21] + b"\n")],
            id="combined",
        ),
        pytest.param(
            ["stderr:text=n", "drop", "crash"],
            [Noise(b"n\n"), End(FaultKind.CRASH, 1)],
            id="crash wins",
        ),
        pytest.param(["stderr:text=n", "drop", "duplicate"], [Noise(b"n\n")], id="drop wins"),
    ],
)
def test_effects(specs: list[str], steps: list[object]) -> None:
    """What each kind (and a combination) sends instead of the frame, in the documented order."""
    faults = parse_faults(specs)
    assert effect(faults, LINE, seq=4, error=lambda _: b"ERR\n") == steps


def test_jitter_is_drawn_per_frame_within_its_bounds() -> None:
    """delay:ms=100,jitter=50 holds between 50 and 150 ms, fixed by seed and seq."""
    fault = parse_fault("delay:ms=100,jitter=50", 1)
    holds = [hold_seconds(fault, seq, seed=1) for seq in range(100)]
    assert all(0.05 <= h <= 0.15 for h in holds)
    assert len(set(holds)) > 50
    assert holds == [hold_seconds(fault, seq, seed=1) for seq in range(100)]


def test_pieces_without_gap_are_still_separate_writes() -> None:
    """slice:gap_ms=0 writes pieces back to back, each its own write."""
    assert pieces(b"abcdefg", 3, 0.0) == [Write(b"abc"), Write(b"def"), Write(b"g")]


def test_an_ending_fault_wins_over_a_drop_whatever_the_order() -> None:
    """drop then crash on one frame: the agent crashes (the drop and the copies do nothing)."""
    faults = parse_faults(["drop", "duplicate", "stderr:text=n", "crash:status=4"])
    assert effect(faults, LINE, seq=1) == [Noise(b"n\n"), End(FaultKind.CRASH, 4)]
    assert [f.kind for f in effective(faults)] == [FaultKind.STDERR, FaultKind.CRASH]
    assert effective(faults[:2]) == [faults[0]]
