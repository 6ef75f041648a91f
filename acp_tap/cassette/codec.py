"""Encode records to cassette lines and decode them back. Pure; no I/O.

A JSON frame embeds the original line's bytes verbatim as the last member ``msg``, so
decoding recovers the exact bytes that travelled (not a re-serialisation).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import cattrs

from acp_tap.cassette.framelines import DIRECTIONS, EOLS, scan_frames
from acp_tap.cassette.model import (
    Direction,
    Eol,
    Footer,
    Frame,
    Header,
    Injection,
    Payload,
    Record,
    converter,
)
from acp_tap.errors import CassetteFormatError

_MSG_KEY = b',"msg":'
_SEQ_KEY, _T_KEY, _ZERO = b'{"seq":', b',"t":', ord("0")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_scan_once: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def loads_strict(data: str | bytes | bytearray) -> Any:
    """Parse JSON the way RFC 8259 does (no NaN/Infinity)."""
    if not isinstance(data, str):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    if data.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
    return _DECODER.decode(data)


MAX_DEPTH = 500
"""The deepest nesting of arrays and objects the recorder embeds as JSON; a line nested
deeper is stored as text. Fixed, so a line is classified the same wherever it is met, and
well within what ``json.loads`` reads back (it fails near depth 1000)."""

_NESTING = re.compile(r'"(?:[^"\\]|\\.)*+"|[\[\]{}]')


def too_deep(text: str) -> bool:
    """Whether ``text`` nests arrays and objects deeper than :data:`MAX_DEPTH`."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for token in _NESTING.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif bracket in "]}":
            depth -= 1
    return False


def scan_json(text: str) -> Any:
    """:func:`loads_strict` for a str, with less overhead for the usual line (no padding).

    Raises ValueError for anything that is not exactly one JSON document, or that is
    nested deeper than :data:`MAX_DEPTH`.
    """
    if too_deep(text):
        raise ValueError(f"nested deeper than {MAX_DEPTH}")
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:  # leading whitespace, or not JSON at all
        return loads_strict(text)
    if end != len(text):  # trailing whitespace, or more than one document
        return loads_strict(text)
    return value


def dumps_compact(value: Any) -> bytes:
    """Serialise a JSON value compactly, keeping non-ASCII text readable.

    Lone surrogates (legal as JSON escapes, not as UTF-8) fall back to ASCII escapes.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def encode_record(record: Header | Footer | Injection) -> bytes:
    """Encode a header, a footer or a fault record as one cassette line."""
    if isinstance(record, Injection):
        return encode_injection(record)
    return dumps_compact(converter.unstructure(record)) + b"\n"


def encode_parts(
    seq: int,
    mid: bytes,
    raw: bytes | bytearray,
    payload: Payload,
    *,
    eol: Eol = Eol.LF,
    redacted: Sequence[str] = (),
) -> tuple[bytes, bytes, bytes | bytearray, bytes]:
    """A frame's cassette line in four pieces: ``{"seq":N``, more head, payload, ``}\\n``.

    ``mid`` is ``,"t":T,"dir":"D"`` (shared by the frames of one chunk). A JSON payload is
    ``raw`` itself, so a multi-MiB message is written with ``writev`` without a copy.
    """
    head = mid
    if eol is not Eol.LF:
        head += b',"eol":"%s"' % eol.value.encode()
    if redacted:
        head += b',"redacted":' + dumps_compact(list(redacted))
    if payload is Payload.JSON:
        return (b'{"seq":%d' % seq, head + _MSG_KEY, raw, b"}\n")
    if payload is Payload.TEXT:
        value = dumps_compact(bytes(raw).decode("utf-8"))
    else:
        value = b'"' + base64.b64encode(raw) + b'"'
    return (b'{"seq":%d' % seq, head + b',"' + payload.value.encode() + b'":', value, b"}\n")


def encode_frame(frame: Frame) -> Sequence[bytes | bytearray | memoryview]:
    """Encode a frame as buffers whose concatenation is one cassette line.

    Returned as pieces so a multi-MiB message is written with ``writev`` without a copy.
    """
    mid = b',"t":%.6f,"dir":"%s"' % (frame.t, frame.dir.value.encode())
    return encode_parts(
        frame.seq, mid, frame.raw, frame.payload, eol=frame.eol, redacted=frame.redacted
    )


def encode_frame_bytes(frame: Frame) -> bytes:
    """Encode a frame as one cassette line (a single buffer)."""
    return b"".join(encode_frame(frame))


def decode_line(line: bytes, path: str = "<cassette>", lineno: int = 0) -> Record:
    """Decode one cassette line (without or with its newline) into a record."""
    if type(line) is bytes and (frame := _usual_frame(line)) is not None:
        return frame
    return _decode_general(line, path, lineno)


def _decode_general(line: bytes, path: str, lineno: int) -> Record:
    """:func:`decode_line` for any line: parse it whole, check every member."""
    body = line.rstrip(b" \t\r\n")  # a hand edit may leave spaces after the closing brace
    try:
        obj = loads_strict(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CassetteFormatError(path, lineno, f"not a JSON line ({exc})") from None
    except RecursionError:
        raise CassetteFormatError(
            path, lineno, "JSON nested too deeply for Python's json module to read"
        ) from None
    if not isinstance(obj, dict):
        raise CassetteFormatError(path, lineno, "expected a JSON object")
    if "seq" in obj:
        return _decode_frame(obj, body, path, lineno)
    kind = obj.get("type")
    if kind == "fault":
        return _decode_injection(obj, path, lineno)
    cls: type[Header] | type[Footer]
    if kind == "header":
        cls = Header
    elif kind == "footer":
        cls = Footer
    else:
        raise CassetteFormatError(
            path, lineno, f"unknown record (no 'seq', type={kind!r}); is this an acp-tap cassette?"
        )
    try:
        return converter.structure(obj, cls)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc, path=kind))
        raise CassetteFormatError(path, lineno, f"bad {kind}: {detail}") from None


_INJECTION_KEYS = ("type", "t", "on", "dir", "fault", "kind")


def encode_injection(record: Injection) -> bytes:
    """A fault record as one cassette line: its fields, then its details."""
    head = {"type": "fault", "t": round(record.t, 6), "on": record.on, "dir": record.dir.value}
    body = {"fault": record.fault, "kind": record.kind, **record.detail}
    return dumps_compact({**head, **body}) + b"\n"


def _decode_injection(obj: dict[str, Any], path: str, lineno: int) -> Injection:
    t, on, fault, kind = obj.get("t"), obj.get("on"), obj.get("fault"), obj.get("kind")
    if not (
        isinstance(t, int | float)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in (on, fault))
        and isinstance(kind, str)
    ):
        raise CassetteFormatError(
            path, lineno, "bad fault record: needs number t, integers on and fault, string kind"
        )
    try:
        direction = Direction(str(obj.get("dir")))
    except ValueError as exc:
        raise CassetteFormatError(path, lineno, f"bad fault record: {exc}") from None
    detail = {k: v for k, v in obj.items() if k not in _INJECTION_KEYS}
    assert isinstance(on, int) and isinstance(fault, int)
    return Injection(t=float(t), on=on, dir=direction, fault=fault, kind=kind, detail=detail)


def _usual_frame(line: bytes) -> Frame | None:
    """A frame line in the writer's own layout, decoded without parsing its envelope (see
    :mod:`acp_tap.cassette.framelines`); None for any other line, or anything unusual
    about it, which the general path then decides (and words the errors of).
    """
    split, _ = scan_frames(line, 0, 1)
    if not split:
        return None
    seq, t, direction, eol, raw, *_ = split[0]
    head = b"%d" % seq + _T_KEY  # seq as JSON writes it, then t's key
    at = len(_SEQ_KEY) + len(head)  # where t starts
    if line[len(_SEQ_KEY) : at] != head or (line[at] == _ZERO and line[at + 1 : at + 2].isdigit()):
        return None  # a leading zero: not JSON
    if math.isinf(t):
        return None  # an integer too big for a float
    try:  # decoded as the whole line would be: UTF-8 (its first bytes say so)
        parsed = _DECODER.decode(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    return Frame(seq, t, DIRECTIONS[direction], raw, Payload.JSON, EOLS[eol], (), parsed)


def _decode_frame(obj: dict[str, Any], body: bytes, path: str, lineno: int) -> Frame:
    def bad(reason: str) -> CassetteFormatError:
        return CassetteFormatError(path, lineno, f"frame {obj.get('seq')!r}: {reason}")

    seq, t = obj.get("seq"), obj.get("t")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise bad("'seq' must be an integer")
    if not isinstance(t, int | float) or isinstance(t, bool):
        raise bad("'t' must be a number")
    try:
        direction = Direction(str(obj.get("dir")))
        eol = Eol(obj.get("eol", "lf"))
        t = float(t)
    except (ValueError, OverflowError) as exc:
        raise bad(str(exc)) from None
    redacted = obj.get("redacted", [])
    if not isinstance(redacted, list) or not all(isinstance(p, str) for p in redacted):
        raise bad("'redacted' must be a list of strings")
    parsed: Any = None
    if "msg" in obj:
        payload, parsed = Payload.JSON, obj["msg"]
        if next(reversed(obj)) == "msg" and (at := body.find(_MSG_KEY)) >= 0:
            raw = body[at + len(_MSG_KEY) : -1]
        else:  # edited by hand: msg is not last, so re-serialise it
            raw = dumps_compact(parsed)
    elif isinstance(text := obj.get("text"), str):
        payload, raw = Payload.TEXT, text.encode("utf-8", "surrogatepass")
    elif isinstance(b64 := obj.get("b64"), str):
        payload = Payload.BINARY
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:  # binascii.Error, or non-ASCII characters
            raise bad(f"'b64' is not base64 ({exc})") from None
    else:
        raise bad("needs one of 'msg', 'text' or 'b64'")
    return Frame(seq, t, direction, raw, payload, eol, tuple(redacted), parsed)
