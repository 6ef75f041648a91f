"""The cassette records (header, frame, footer) and the one cattrs converter.

A cassette is NDJSON: one header line, one line per frame, and a footer line when the
recording ended cleanly. See ``docs/cassette-format.md`` for the format itself.
"""

from __future__ import annotations

import base64
import enum
import json
import math
from collections.abc import Callable
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

FORMAT_VERSION = 1
FAULTS_FORMAT = 2
"""The format of a cassette recorded with ``--fault``: it holds fault records, which a
reader of format 1 would not know (it refuses the cassette instead of misreading it)."""
READABLE_FORMATS = frozenset({FORMAT_VERSION, FAULTS_FORMAT})


class Direction(enum.StrEnum):
    """Which stream a frame travelled on."""

    CLIENT_TO_AGENT = "c2a"
    AGENT_TO_CLIENT = "a2c"
    AGENT_STDERR = "err"


class Eol(enum.StrEnum):
    """How a line ended on the wire."""

    LF = "lf"
    CRLF = "crlf"
    NONE = "none"  # the stream ended without a final newline

    @property
    def bytes(self) -> bytes:
        """The terminator's bytes."""
        return _EOL_BYTES[self]


_EOL_BYTES = {Eol.LF: b"\n", Eol.CRLF: b"\r\n", Eol.NONE: b""}


class Payload(enum.StrEnum):
    """How a frame's line is stored in the cassette."""

    JSON = "msg"  # valid UTF-8 JSON, embedded as JSON
    TEXT = "text"  # valid UTF-8 that is not JSON, kept as a JSON string
    BINARY = "b64"  # not valid UTF-8, kept as base64


@attrs.frozen(kw_only=True)
class Header:
    """First line of a cassette: what was recorded, where and when."""

    type: str = "header"
    format: int = FORMAT_VERSION
    acp_tap: str
    argv: tuple[str, ...]
    cwd: str
    started: str  # ISO 8601, UTC
    python: str
    platform: str
    pid: int
    redaction: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()  # the --fault specs in force (format 2), in order


@attrs.frozen
class Frame:
    """One line seen on one stream.

    ``raw`` is the line's content without its terminator, exactly as it travelled (or,
    when ``redacted`` is not empty, the redacted message re-serialised). ``raw + eol``
    are the bytes that were on the wire.
    """

    seq: int
    t: float
    dir: Direction
    raw: bytes | bytearray  # bytearray only while recording: a huge line is never copied
    payload: Payload
    eol: Eol = Eol.LF
    redacted: tuple[str, ...] = ()
    parsed: Any = attrs.field(default=None, eq=False, repr=False)  # decoded message, if known

    @property
    def wire_bytes(self) -> bytes:
        """The bytes this frame carried on the wire, terminator included."""
        return bytes(self.raw) + self.eol.bytes

    @property
    def is_json(self) -> bool:
        """Whether the line was valid JSON (and so has a message)."""
        return self.payload is Payload.JSON

    def message(self) -> Any:
        """The decoded JSON message (only for JSON frames)."""
        if self.payload is not Payload.JSON:
            raise ValueError(f"frame {self.seq} is not JSON ({self.payload.value})")
        if self.parsed is not None:
            return self.parsed
        return json.loads(self.raw)


@attrs.frozen(kw_only=True)
class Footer:
    """Last line of a cleanly ended cassette: how the session ended."""

    type: str = "footer"
    t: float
    ended: str  # ISO 8601, UTC
    status: int  # the proxy's exit status (agent's status, 128+N for signal N)
    exit_code: int | None
    signal: int | None
    closed_first: str  # "client", "agent" or "signal"
    frames: dict[str, int]
    dropped: int = 0
    stream_errors: dict[str, str] = attrs.field(factory=dict)
    """Streams whose writing failed (``a2c``: the client's stdout was full), by ``dir``."""


@attrs.frozen(kw_only=True)
class Injection:
    """A fault that fired while recording (format 2): the other side did not get frame
    ``on`` (of direction ``dir``) as recorded; ``detail`` says what it got instead."""

    type: str = "fault"
    t: float
    on: int  # the seq of the frame it acted on
    dir: Direction
    fault: int  # its position in the header's ``faults`` (1-based)
    kind: str  # delay, slice, hang, crash, close, drop, duplicate, garbage, corrupt...
    detail: dict[str, Any] = attrs.field(factory=dict)  # hold, pieces, cut, status, line...


Record = Header | Frame | Footer | Injection


_JSON_TYPES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _exactly(kind: type) -> Callable[[Any, Any], Any]:
    """A structure hook taking only ``kind`` as JSON has it: no ``"1"`` for 1, no ``true``
    for 1, no string for a list of strings; a float must be finite."""

    def structure(value: Any, _: Any) -> Any:
        if kind is float and type(value) is int:
            value = float(value)
        if type(value) is not kind or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"expected {_JSON_TYPES[kind]}, not {value!r:.40}")
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    conv.register_structure_hook(bytes, lambda v, _: base64.b64decode(v))
    conv.register_unstructure_hook(  # a footer names stream errors only if there were any
        Footer,
        make_dict_unstructure_fn(Footer, conv, stream_errors=override(omit_if_default=True)),
    )
    for kind in _JSON_TYPES:
        conv.register_structure_hook(kind, _exactly(kind))

    def strings(value: Any, _: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of strings, not {value!r:.40}")
        return tuple(value)

    conv.register_structure_hook_func(lambda kind: kind == tuple[str, ...], strings)
    conv.register_unstructure_hook(  # a header names faults only if there were any
        Header, make_dict_unstructure_fn(Header, conv, faults=override(omit_if_default=True))
    )
    return conv


converter = _make_converter()
"""The one converter for cassette records. Nothing else (de)serialises them."""
