"""Fault specs: ``KIND[:key=value,...]`` parsed into :class:`Fault` values. Pure.

Every kind takes the selectors ``method=GLOB``, ``update=GLOB``, ``nth=N``, ``p=P`` (and,
on ``record``, ``dir=a2c|c2a``) and its own parameters, each with a default. A value may
hold a comma written ``\\,`` (and a backslash written ``\\\\``). A bad spec is one line saying
what is wrong with it (:func:`parse_faults` raises a :class:`~acp_tap.errors.UsageError`
with one such line per bad spec).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from acp_tap.cassette.model import Direction
from acp_tap.errors import UsageError


class FaultKind(enum.StrEnum):
    """What a fault does to the frame it hits (see the table in the README)."""

    DELAY = "delay"  # hold the stream at the frame for ms (± jitter)
    SLICE = "slice"  # write the line in pieces of `bytes`, gap_ms apart
    HANG = "hang"  # nothing more is sent; the pipes stay open
    CRASH = "crash"  # exit with `status` instead of sending the frame
    CLOSE = "close"  # close the output at the frame; input is still read
    DROP = "drop"  # the frame is not sent
    DUPLICATE = "duplicate"  # the frame is sent twice
    GARBAGE = "garbage"  # a line that is not JSON before the frame
    CORRUPT = "corrupt"  # the first half of the frame, then a newline
    ERROR = "error"  # a response becomes a JSON-RPC error
    STDERR = "stderr"  # `count` lines of noise on stderr
    FLOOD = "flood"  # `count` extra copies of a notification


ONE_SHOT = frozenset({FaultKind.HANG, FaultKind.CRASH, FaultKind.CLOSE, FaultKind.ERROR})
"""Kinds that hit one frame only: the first one selected."""

ENDING = frozenset({FaultKind.HANG, FaultKind.CRASH, FaultKind.CLOSE})
"""Kinds after which the other side is sent nothing more."""

WITHHOLDING = frozenset({FaultKind.DROP, FaultKind.CORRUPT, FaultKind.ERROR})
"""Kinds that keep a frame's content from the other side (it may then wait for ever)."""

CLIENT_SIDE = frozenset(
    {
        FaultKind.DELAY,
        FaultKind.SLICE,
        FaultKind.DROP,
        FaultKind.DUPLICATE,
        FaultKind.GARBAGE,
        FaultKind.CORRUPT,
    }
)
"""The kinds that apply to what the client sends (``dir=c2a``, record only)."""

HANG_LINGER = 60.0
"""Seconds a hung agent's output stays open after its client closed its input (replay) or
after the real agent exited (record), unless acp-tap is killed or signalled first."""

GARBAGE_TEXT = "acp-tap: injected log line on stdout (fault garbage)"
STDERR_TEXT = "acp-tap: injected noise on stderr (fault stderr)"
ERROR_MESSAGE = "Internal error (injected by acp-tap)"


@attrs.frozen(kw_only=True)
class Fault:
    """One ``--fault``: its kind, selectors and parameters (defaults filled in)."""

    kind: FaultKind
    position: int  # 1-based place among the --fault options
    spec: str  # as written
    method: str | None = None  # glob on the method (a response: the method it answers)
    update: str | None = None  # glob on a session/update's sessionUpdate kind
    direction: Direction = Direction.AGENT_TO_CLIENT
    nth: int | None = None  # only the nth frame selected by the globs
    p: float | None = None  # probability per selected frame (seeded)
    ms: int = 1000  # delay
    jitter: int = 0  # delay: ± this many ms, drawn per frame
    size: int = 7  # slice: bytes per piece
    gap_ms: int = 10  # slice: pause between pieces
    status: int = 1  # crash: exit status
    text: str = ""  # garbage, stderr: the line
    code: int = -32603  # error: JSON-RPC error code
    message: str = ERROR_MESSAGE  # error: its message
    count: int = 1  # stderr: lines; flood: extra copies

    @property
    def label(self) -> str:
        """``fault 2 (crash:nth=3)``, for messages."""
        return f"fault {self.position} ({self.spec})"


def _number(text: str, kind: type[int] | type[float] = int) -> Any:
    try:
        return kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise ValueError(f"must be {noun}, not {text!r}") from None


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value: int = _number(text)
        if high is not None and not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        if value < low:
            raise ValueError(f"must be {low} or more")
        return value

    return parse


def _probability(text: str) -> float:
    value: float = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0.0 and 1.0")
    return value


def _line(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError("must be one line")
    return text


def _glob(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def _direction(text: str) -> Direction:
    if text not in ("a2c", "c2a"):
        raise ValueError("must be a2c or c2a")
    return Direction(text)


def _integer(text: str) -> int:
    value: int = _number(text)
    return value


_SELECTORS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "method": ("method", _glob),
    "update": ("update", _glob),
    "dir": ("direction", _direction),
    "nth": ("nth", _whole(1)),
    "p": ("p", _probability),
}

_PARAMETERS: dict[FaultKind, dict[str, tuple[str, Callable[[str], Any]]]] = {
    FaultKind.DELAY: {"ms": ("ms", _whole(0)), "jitter": ("jitter", _whole(0))},
    FaultKind.SLICE: {"bytes": ("size", _whole(1)), "gap_ms": ("gap_ms", _whole(0))},
    FaultKind.HANG: {},
    FaultKind.CRASH: {"status": ("status", _whole(0, 255))},
    FaultKind.CLOSE: {},
    FaultKind.DROP: {},
    FaultKind.DUPLICATE: {},
    FaultKind.GARBAGE: {"text": ("text", _line)},
    FaultKind.CORRUPT: {},
    FaultKind.ERROR: {"code": ("code", _integer), "message": ("message", _line)},
    FaultKind.STDERR: {"text": ("text", _line), "count": ("count", _whole(1))},
    FaultKind.FLOOD: {"count": ("count", _whole(1))},
}

_DEFAULTS: dict[FaultKind, dict[str, Any]] = {
    FaultKind.GARBAGE: {"text": GARBAGE_TEXT},
    FaultKind.STDERR: {"text": STDERR_TEXT},
    FaultKind.FLOOD: {"count": 100},
}


def split_options(text: str) -> list[str]:
    """``a=1,b=x\\,y`` → ``["a=1", "b=x,y"]``: commas separate, ``\\,`` and ``\\\\`` escape."""
    items, current, chars = [], [], iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            current.append(following if following in (",", "\\") else char + following)
        elif char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


def parse_fault(spec: str, position: int, *, record: bool = False) -> Fault:
    """One spec (the ``position``-th ``--fault``); raises ValueError saying what is wrong."""
    name, colon, rest = spec.partition(":")
    try:
        kind = FaultKind(name.strip())
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"unknown kind {name!r} (kinds: {kinds})") from None
    values: dict[str, Any] = dict(_DEFAULTS.get(kind, {}))
    parameters = _PARAMETERS[kind]
    seen: set[str] = set()
    for item in split_options(rest) if colon else ():
        key, equals, text = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValueError(f"expected key=value, not {item!r}")
        if key in seen:
            raise ValueError(f"{key} is given twice")
        seen.add(key)
        known = parameters.get(key) or _SELECTORS.get(key)
        if known is None:
            takes = ", ".join([*parameters, *(k for k in _SELECTORS if record or k != "dir")])
            raise ValueError(f"{kind} takes no {key!r} (it takes {takes})")
        field, convert = known
        try:
            values[field] = convert(text)
        except ValueError as exc:
            raise ValueError(f"{key} {exc}") from None
    fault = Fault(kind=kind, position=position, spec=spec, **values)
    if fault.direction is Direction.CLIENT_TO_AGENT:
        if not record:
            raise ValueError("dir=c2a applies to `acp-tap record` only (a replay has no agent)")
        if kind not in CLIENT_SIDE:
            allowed = ", ".join(sorted(CLIENT_SIDE))
            raise ValueError(f"{kind} does not apply to dir=c2a (only {allowed} do)")
    return fault


def parse_faults(specs: Sequence[str], *, record: bool = False) -> tuple[Fault, ...]:
    """Every ``--fault``, in order; a :class:`UsageError` with one line per bad spec."""
    faults, problems = [], []
    for position, spec in enumerate(specs, start=1):
        try:
            faults.append(parse_fault(spec, position, record=record))
        except ValueError as exc:
            problems.append(f"--fault {spec!r}: {exc}")
    if problems:
        raise UsageError("\nacp-tap: ".join(problems))
    return tuple(faults)
