"""Encode records to cassette lines and decode them back. Pure; no I/O.

A JSON frame embeds the original line's bytes verbatim as the last member ``msg``, so
decoding recovers the exact bytes that travelled (not a re-serialisation).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import cattrs

from acp_tap.cassette.framelines import (
    DECODER,
    DIRECTIONS,
    EOLS,
    MAX_DEPTH,
    nested_deeper,
    scan_frames,
)
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
_TRAILING = b" \t\r\n"
_PAYLOADS = ("msg", "text", "b64")
_scan_once: Callable[[str, int], tuple[Any, int]] = DECODER.scan_once  # type: ignore[attr-defined]


def loads_strict(data: str | bytes | bytearray) -> Any:
    """Parse JSON the way RFC 8259 does (no NaN/Infinity; bytes are strict UTF-8)."""
    if not isinstance(data, str):
        data = data.decode("utf-8")
    if data.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
    return DECODER.decode(data)


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit``."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return nested_deeper(text.encode("utf-8", "surrogatepass"), limit)


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
    """Decode one cassette line (without or with its newline) into a record.

    Everything about one line is checked here (the rules of docs/cassette-format.md); what
    depends on the lines around it (order, header first, nothing after the footer) is
    :class:`acp_tap.cassette.reader.CassetteBuilder`'s.
    """
    if type(line) is bytes and (frame := _usual_frame(line)) is not None:
        return frame
    return _decode_general(line, path, lineno)


def _decode_general(line: bytes, path: str, lineno: int) -> Record:
    """:func:`decode_line` for any line: parse it whole, check every member.

    A huge line is held as few times as it can be: its text is dropped once parsed.
    """
    end = len(line)
    while end and line[end - 1] in _TRAILING:  # a hand edit may leave spaces after the brace
        end -= 1
    try:
        text = str(memoryview(line)[:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteFormatError(
            path, lineno, f"not UTF-8 (byte {exc.start + 1}); a cassette line is UTF-8 JSON"
        ) from None
    try:
        obj = loads_strict(text)
    except ValueError as exc:
        raise CassetteFormatError(path, lineno, f"not a JSON line ({exc})") from None
    except RecursionError:
        raise CassetteFormatError(
            path, lineno, f"JSON nested more than {MAX_DEPTH} deep; not a cassette line"
        ) from None
    if not isinstance(obj, dict):
        raise CassetteFormatError(path, lineno, "expected a JSON object")
    if "seq" in obj:
        deep = "msg" in obj and too_deep(text, MAX_DEPTH + 1)  # the frame itself is one level
        del text
        return _decode_frame(obj, (line, end), deep, path, lineno)
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
        record = converter.structure(obj, cls)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc, path=kind))
        raise CassetteFormatError(path, lineno, f"bad {kind}: {detail}") from None
    if isinstance(record, Footer) and record.t < 0:
        raise CassetteFormatError(path, lineno, "bad footer: 't' is negative")
    return record


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
    :mod:`acp_tap.cassette.framelines`, which checks its message); None for any other line,
    or anything unusual about it, which the general path then decides (and words the
    errors of).
    """
    split, _ = scan_frames(line, 0, 1, 0)
    if not split:
        return None
    seq, t, direction, eol, raw, *_ = split[0]
    parsed = DECODER.decode(raw.decode("utf-8"))
    return Frame(seq, t, DIRECTIONS[direction], raw, Payload.JSON, EOLS[eol], (), parsed)


def _decode_frame(
    obj: dict[str, Any], body: tuple[bytes, int], deep: bool, path: str, lineno: int
) -> Frame:
    def bad(reason: str) -> CassetteFormatError:
        return CassetteFormatError(path, lineno, f"frame {obj.get('seq')!r}: {reason}")

    seq, t = obj.get("seq"), obj.get("t")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise bad("'seq' must be a whole number, 1 or more")
    try:
        t = float(t) if isinstance(t, int | float) and not isinstance(t, bool) else math.nan
    except OverflowError:  # an integer too big for a float
        t = math.inf
    if not 0 <= t < math.inf:
        raise bad("'t' must be a finite number of seconds, 0 or more")
    try:
        direction = Direction(str(obj.get("dir")))
    except ValueError:
        raise bad(f"'dir' must be c2a, a2c or err, not {obj.get('dir')!r}") from None
    try:
        eol = Eol(obj.get("eol", "lf"))
    except ValueError:
        raise bad(f"'eol' must be crlf or none (lf by default), not {obj.get('eol')!r}") from None
    redacted = obj.get("redacted", [])
    if not isinstance(redacted, list) or not all(isinstance(p, str) for p in redacted):
        raise bad("'redacted' must be a list of strings")
    try:
        payload, raw, parsed = _payload(obj, body, deep=deep)
    except (ValueError, TypeError) as exc:
        raise bad(str(exc)) from None
    return Frame(seq, t, direction, raw, payload, eol, tuple(redacted), parsed)


def _payload(
    obj: dict[str, Any], body: tuple[bytes, int], *, deep: bool
) -> tuple[Payload, bytes, Any]:
    """A frame's payload: exactly one of msg, text and b64 (the error says what is wrong).

    ``body``: the line and where its content ends; ``deep``: the line nests too deep for
    its ``msg`` to be one.
    """
    payloads = [name for name in _PAYLOADS if name in obj]
    if len(payloads) != 1:
        has = f"has {' and '.join(map(repr, payloads))}" if payloads else "has none"
        raise ValueError(f"needs exactly one of 'msg', 'text' or 'b64' ({has})")
    if payloads == ["msg"]:
        if deep:
            raise ValueError(
                f"'msg' nests arrays and objects more than {MAX_DEPTH} deep (acp-tap records "
                "such a line as 'text')"
            )
        parsed = obj["msg"]
        line, end = body
        if next(reversed(obj)) == "msg" and (at := line.find(_MSG_KEY, 0, end)) >= 0:
            return Payload.JSON, line[at + len(_MSG_KEY) : end - 1], parsed
        return Payload.JSON, dumps_compact(parsed), parsed  # edited by hand: msg not last
    value = obj[payloads[0]]
    if not isinstance(value, str):
        raise TypeError(f"'{payloads[0]}' must be a string")
    if payloads == ["text"]:
        return Payload.TEXT, value.encode("utf-8", "surrogatepass"), None
    try:
        return Payload.BINARY, base64.b64decode(value, validate=True), None
    except ValueError as exc:  # binascii.Error, or non-ASCII characters
        raise ValueError(f"'b64' is not base64 ({exc})") from None
