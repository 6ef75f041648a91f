"""Encode records to cassette lines and decode them back. Pure; no I/O.

A JSON frame embeds the original line's bytes verbatim as the last member ``msg``, so
decoding recovers the exact bytes that travelled (not a re-serialisation).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

import cattrs

from acp_tap.cassette.model import (
    Direction,
    Eol,
    Footer,
    Frame,
    Header,
    Payload,
    Record,
    converter,
)
from acp_tap.errors import CassetteFormatError

_MSG_KEY = b',"msg":'


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(data: str | bytes) -> Any:
    """Parse JSON the way RFC 8259 does (no NaN/Infinity)."""
    return json.loads(data, parse_constant=_reject_constant)


def dumps_compact(value: Any) -> bytes:
    """Serialise a JSON value compactly, keeping non-ASCII text readable.

    Lone surrogates (legal as JSON escapes, not as UTF-8) fall back to ASCII escapes.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def encode_record(record: Header | Footer) -> bytes:
    """Encode a header or footer as one cassette line."""
    return dumps_compact(converter.unstructure(record)) + b"\n"


def encode_frame(frame: Frame) -> Sequence[bytes | bytearray | memoryview]:
    """Encode a frame as buffers whose concatenation is one cassette line.

    Returned as pieces so a multi-MiB message is written with ``writev`` without a copy.
    """
    head = b'{"seq":%d,"t":%.6f,"dir":"%s"' % (frame.seq, frame.t, frame.dir.value.encode())
    if frame.eol is not Eol.LF:
        head += b',"eol":"%s"' % frame.eol.value.encode()
    if frame.redacted:
        head += b',"redacted":' + dumps_compact(list(frame.redacted))
    if frame.payload is Payload.JSON:
        return (head + _MSG_KEY, frame.raw, b"}\n")
    if frame.payload is Payload.TEXT:
        value = dumps_compact(bytes(frame.raw).decode("utf-8"))
    else:
        value = b'"' + base64.b64encode(frame.raw) + b'"'
    return (head + b',"' + frame.payload.value.encode() + b'":' + value + b"}\n",)


def encode_frame_bytes(frame: Frame) -> bytes:
    """Encode a frame as one cassette line (a single buffer)."""
    return b"".join(encode_frame(frame))


def decode_line(line: bytes, path: str = "<cassette>", lineno: int = 0) -> Record:
    """Decode one cassette line (without or with its newline) into a record."""
    body = line.rstrip(b"\r\n")
    try:
        obj = loads_strict(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CassetteFormatError(path, lineno, f"not a JSON line ({exc})") from None
    if not isinstance(obj, dict):
        raise CassetteFormatError(path, lineno, "expected a JSON object")
    if "seq" in obj:
        return _decode_frame(obj, body, path, lineno)
    kind = obj.get("type")
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
    except ValueError as exc:
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
        except binascii.Error as exc:
            raise bad(f"'b64' is not base64 ({exc})") from None
    else:
        raise bad("needs one of 'msg', 'text' or 'b64'")
    return Frame(seq, float(t), direction, raw, payload, eol, tuple(redacted), parsed)
