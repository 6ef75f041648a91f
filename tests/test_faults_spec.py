"""Fault specs: every kind and selector, defaults, escapes, and one clear line per bad spec."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acp_tap.cassette.model import Direction
from acp_tap.errors import UsageError
from acp_tap.faults.spec import (
    ERROR_MESSAGE,
    GARBAGE_TEXT,
    STDERR_TEXT,
    Fault,
    FaultKind,
    parse_fault,
    parse_faults,
    split_options,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("delay", {"ms": 1000, "jitter": 0}, id="delay defaults"),
        pytest.param("delay:ms=250,jitter=50", {"ms": 250, "jitter": 50}, id="delay"),
        pytest.param("slice", {"size": 7, "gap_ms": 10}, id="slice defaults"),
        pytest.param("slice:bytes=3,gap_ms=0", {"size": 3, "gap_ms": 0}, id="slice"),
        pytest.param("hang", {}, id="hang"),
        pytest.param("crash", {"status": 1}, id="crash default"),
        pytest.param("crash:status=42", {"status": 42}, id="crash"),
        pytest.param("close", {}, id="close"),
        pytest.param("drop", {}, id="drop"),
        pytest.param("duplicate", {}, id="duplicate"),
        pytest.param("garbage", {"text": GARBAGE_TEXT}, id="garbage default"),
        pytest.param("garbage:text=INFO x", {"text": "INFO x"}, id="garbage"),
        pytest.param("corrupt", {}, id="corrupt"),
        pytest.param("error", {"code": -32603, "message": ERROR_MESSAGE}, id="error defaults"),
        pytest.param(
            "error:code=-32000,message=busy", {"code": -32000, "message": "busy"}, id="error"
        ),
        pytest.param("stderr", {"text": STDERR_TEXT, "count": 1}, id="stderr defaults"),
        pytest.param("stderr:text=warn,count=5", {"text": "warn", "count": 5}, id="stderr"),
        pytest.param("flood", {"count": 100}, id="flood default"),
        pytest.param("flood:count=3", {"count": 3}, id="flood"),
    ],
)
def test_each_kind_parses_with_its_defaults(spec: str, expected: dict[str, object]) -> None:
    """Each kind takes its own parameters, with the documented defaults."""
    fault = parse_fault(spec, 1)
    assert fault.kind is FaultKind(spec.partition(":")[0])
    assert {key: getattr(fault, key) for key in expected} == expected


def test_selectors_apply_to_every_kind() -> None:
    """method, update, nth and p are accepted by every kind."""
    for kind in FaultKind:
        fault = parse_fault(f"{kind}:method=session/*,update=agent_*,nth=2,p=0.5", 3)
        assert (fault.method, fault.update, fault.nth, fault.p, fault.position) == (
            "session/*",
            "agent_*",
            2,
            0.5,
            3,
        )
        assert fault.direction is Direction.AGENT_TO_CLIENT


def test_a_value_may_hold_an_escaped_comma_and_backslash() -> None:
    """``\\,`` is a comma inside a value, ``\\\\`` a backslash; other escapes stay as written."""
    fault = parse_fault(r'garbage:text={"a":1\,"b":"x\\y\n"}', 1)
    assert fault.text == '{"a":1,"b":"x\\y\\n"}'
    assert split_options(r"a=1\,2,b=\\,c=") == ["a=1,2", "b=\\", "c="]


def test_dir_c2a_is_for_record_and_only_some_kinds() -> None:
    """dir=c2a: record only, and only delay, slice, drop, duplicate, garbage, corrupt."""
    assert parse_fault("drop:dir=c2a", 1, record=True).direction is Direction.CLIENT_TO_AGENT
    assert parse_fault("crash:dir=a2c", 1, record=True).direction is Direction.AGENT_TO_CLIENT
    with pytest.raises(ValueError, match="applies to `acp-tap record` only"):
        parse_fault("drop:dir=c2a", 1)
    with pytest.raises(ValueError, match=r"crash does not apply to dir=c2a \(only corrupt, delay"):
        parse_fault("crash:dir=c2a", 1, record=True)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("dleay", "unknown kind 'dleay' (kinds: delay, slice, hang,", id="kind"),
        pytest.param("delay:ms=fast", "ms must be a whole number, not 'fast'", id="not a number"),
        pytest.param("delay:ms=-5", "ms must be 0 or more", id="negative"),
        pytest.param("slice:bytes=0", "bytes must be 1 or more", id="empty pieces"),
        pytest.param("crash:status=300", "status must be between 0 and 255", id="status"),
        pytest.param("drop:p=1.5", "p must be between 0.0 and 1.0", id="p"),
        pytest.param("drop:p=nan", "p must be between 0.0 and 1.0", id="p nan"),
        pytest.param("drop:nth=0", "nth must be 1 or more", id="nth"),
        pytest.param("hang:ms=5", "hang takes no 'ms' (it takes method, update, nth, p)", id="key"),
        pytest.param("drop:nth", "expected key=value, not 'nth'", id="no value"),
        pytest.param("drop:nth=1,nth=2", "nth is given twice", id="twice"),
        pytest.param("drop:method=", "method must not be empty", id="empty glob"),
        pytest.param("garbage:text=a\nb", "text must be one line", id="two lines"),
        pytest.param("drop:dir=up", "dir must be a2c or c2a", id="dir"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec: str, message: str) -> None:
    """Each mistake gets a message naming the key and what it must be."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        parse_fault(spec, 1, record="dir=" in spec)


def test_every_bad_spec_gets_its_own_line() -> None:
    """parse_faults reports all bad specs at once, one line each, as a usage error (exit 2)."""
    with pytest.raises(UsageError) as caught:
        parse_faults(["drop", "dleay", "delay:ms=x"])
    assert caught.value.exit_code == 2
    lines = f"acp-tap: {caught.value}".splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("acp-tap: --fault 'dleay': unknown kind 'dleay'")
    assert lines[1] == "acp-tap: --fault 'delay:ms=x': ms must be a whole number, not 'x'"


def test_positions_follow_the_command_line() -> None:
    """Each fault knows its 1-based place among the --fault options (it seeds its draws)."""
    faults = parse_faults(["drop", "hang:nth=2"])
    assert [(f.position, f.spec) for f in faults] == [(1, "drop"), (2, "hang:nth=2")]
    assert faults[1].label == "fault 2 (hang:nth=2)"
    assert isinstance(faults[0], Fault)


@given(st.text(max_size=40))
def test_any_text_is_parsed_or_refused_with_a_value_error(spec: str) -> None:
    """No spec makes the parser fail in any other way."""
    try:
        fault = parse_fault(spec, 1, record=True)
    except ValueError as exc:
        message = str(exc)
    else:
        message = fault.label
    assert message
