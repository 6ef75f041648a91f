"""A corpus of broken cassettes (and other paths), made at test time from a real recording.

Each :class:`Case` writes one file (or makes one special path) and says what every reader
must answer: ``READABLE`` cassettes are read (maybe with a warning), ``MALFORMED`` ones are
refused with one error naming the file and ``line``, and ``UNREADABLE`` paths (a directory,
a FIFO, a device...) are refused before reading, naming the file. Big and special cases
are generated here, never committed.
"""

from __future__ import annotations

import enum
import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "fixtures" / "prompt-turn.ndjson").read_bytes().splitlines(keepends=True)
HEADER, FRAMES, FOOTER = BASE[0], BASE[1:-1], BASE[-1]
HUGE = 20 << 20
"""Bytes of the huge (valid) text line: big enough to show memory stays a few copies of it."""
SMALL_MAX_LINE = 1 << 20
"""The --max-line the cases pass (the over-long line is twice that)."""


class Verdict(enum.Enum):
    """What every reader must make of a case."""

    READABLE = "readable"
    MALFORMED = "malformed"
    UNREADABLE = "unreadable"


@attrs.frozen
class Case:
    """One input: its name, how to make it, and what readers must answer."""

    name: str
    verdict: Verdict
    make: Callable[[Path], Path]  # makes the input in a directory; returns its path
    line: int | None = None  # the line a MALFORMED case's error names
    reason: str = ""  # words the error must contain


def _file(content: bytes) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / "case.ndjson"
        path.write_bytes(content)
        return path

    return make


def _lines(*lines: bytes) -> Callable[[Path], Path]:
    return _file(b"".join(lines))


def _header(**changes: object) -> bytes:
    header = json.loads(HEADER)
    header.update(changes)
    return json.dumps(header, separators=(",", ":")).encode() + b"\n"


def _footer(**changes: object) -> bytes:
    footer = json.loads(FOOTER)
    footer.update(changes)
    return json.dumps(footer, separators=(",", ":")).encode() + b"\n"


def frame(seq: object = 1, t: object = 0.5, direction: str = "a2c", **payload: object) -> bytes:
    """A frame line with these members (``payload``: msg/text/b64 values, or raw=bytes)."""
    raw = payload.pop("raw", None)
    head = f'{{"seq":{json.dumps(seq)},"t":{t},"dir":"{direction}"'.encode()
    body = b"".join(b',"%s":%s' % (k.encode(), json.dumps(v).encode()) for k, v in payload.items())
    tail = b',"msg":' + raw if isinstance(raw, bytes) else b""
    return head + body + tail + b"}\n"


NOTE = b'{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{}}}'


def _special(kind: str) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / f"case-{kind}"
        if kind == "directory":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "loop":
            path.symlink_to(path.name)
        elif kind == "dangling":
            path.symlink_to("nowhere.ndjson")
        elif kind == "unreadable":
            path.write_bytes(b"".join(BASE))
            path.chmod(0)
        else:
            return Path(kind)  # a device, as it is
        return path

    return make


def _huge_text(directory: Path) -> Path:
    path = directory / "case.ndjson"
    with path.open("wb") as f:
        f.write(HEADER + b"".join(FRAMES))
        f.write(frame(len(FRAMES) + 1, 9.0, "err", text="x" * HUGE))
    return path


R, M, U = Verdict.READABLE, Verdict.MALFORMED, Verdict.UNREADABLE
_last = len(BASE)
CASES = [
    # readable: whole, cut short, loosely written
    Case("complete", R, _lines(*BASE)),
    Case("no-footer", R, _lines(*BASE[:-1])),
    Case("cut-mid-line", R, _lines(*BASE[:-2], BASE[-2][: len(BASE[-2]) // 2])),
    Case("cut-mid-footer", R, _lines(*BASE[:-1], FOOTER[:20])),
    Case("last-line-without-newline", R, _lines(*BASE[:-1], FOOTER.rstrip(b"\n"))),
    Case("blank-lines", R, _lines(HEADER, b"\n  \n", *FRAMES, b"\r\n", FOOTER, b"\n\n")),
    Case("crlf", R, _lines(*(line.replace(b"\n", b"\r\n") for line in BASE))),
    Case("unknown-members", R, _lines(_header(extra={"x": 1}), *FRAMES, _footer(more=[1]))),
    Case(
        "msg-not-last",
        R,
        _lines(HEADER, b'{"seq":1,"msg":{"jsonrpc":"2.0","method":"x"},"t":0.1,"dir":"a2c"}\n'),
    ),
    Case(
        "escape-sequences",
        R,
        _lines(
            HEADER,
            frame(1, 0.1, "err", text="\x1b]0;pwned\x07\x1b[2J\rhidden\x08\u202etxet"),
            frame(2, 0.2, "a2c", text="\x1b[31mred\x1b[0m \x9b1m"),
            _footer(frames={"c2a": 0, "a2c": 1, "err": 1}),
        ),
    ),
    Case("gaps-in-seq", R, _lines(HEADER, frame(3, raw=NOTE), frame(7, raw=NOTE))),
    Case("huge-valid-line", R, _huge_text),
    # malformed: not a cassette at all
    Case("empty", M, _file(b""), 1, "empty cassette"),
    Case("nul-bytes", M, _file(b"\0" * 1000), 1, "not a JSON line"),
    Case("only-blank-lines", M, _file(b"\n \n\t\n"), 1, "empty cassette"),
    Case("text", M, _file(b"hello world\n"), 1, "not a JSON line"),
    Case("random-bytes", M, _file(random.Random(17).randbytes(4096)), 1, ""),
    Case("json-array", M, _lines(b"[1,2,3]\n"), 1, "expected a JSON object"),
    Case("bom-header", M, _lines(b"\xef\xbb\xbf" + HEADER, *FRAMES), 1, "BOM"),
    Case("unknown-record", M, _lines(b'{"type":"tape"}\n'), 1, "unknown record"),
    Case("deep-nesting", M, _lines(HEADER, b"[" * 100_000 + b"]" * 100_000 + b"\n"), 2, "deep"),
    # malformed: the order of records
    Case("no-header", M, _lines(*FRAMES, FOOTER), 1, "the first record must be the header"),
    Case("two-headers", M, _lines(HEADER, HEADER, *FRAMES), 2, "a second header"),
    Case("frame-after-footer", M, _lines(*BASE, FRAMES[0]), _last + 1, "after the footer"),
    Case("two-footers", M, _lines(*BASE, FOOTER), _last + 1, "after the footer"),
    Case("duplicate-seq", M, _lines(HEADER, FRAMES[0], FRAMES[0]), 3, "sequence numbers"),
    Case("backwards-seq", M, _lines(HEADER, FRAMES[1], FRAMES[0]), 3, "sequence numbers"),
    # malformed: the header and footer
    Case("format-99", M, _lines(_header(format=99), *FRAMES), 1, "format 99 is not supported"),
    Case("format-string", M, _lines(_header(format="1"), *FRAMES), 1, "header.format"),
    Case("header-pid-string", M, _lines(_header(pid="42"), *FRAMES), 1, "header.pid"),
    Case("header-argv-string", M, _lines(_header(argv="kiro-cli"), *FRAMES), 1, "header.argv"),
    Case("header-nan", M, _lines(HEADER.replace(b'"pid":4242', b'"pid":NaN')), 1, "NaN"),
    Case("footer-t-negative", M, _lines(*BASE[:-1], _footer(t=-1)), _last, "negative"),
    Case("footer-frames-list", M, _lines(*BASE[:-1], _footer(frames=[1])), _last, "frames"),
    # malformed: frames
    Case("seq-zero", M, _lines(HEADER, frame(0, raw=NOTE)), 2, "'seq'"),
    Case("seq-negative", M, _lines(HEADER, frame(-3, raw=NOTE)), 2, "'seq'"),
    Case("seq-string", M, _lines(HEADER, frame("1", raw=NOTE)), 2, "'seq'"),
    Case("seq-float", M, _lines(HEADER, frame(1.5, raw=NOTE)), 2, "'seq'"),
    Case("t-negative", M, _lines(HEADER, frame(1, -0.5, raw=NOTE)), 2, "'t'"),
    Case("t-1e999", M, _lines(HEADER, frame(1, "1e999", raw=NOTE)), 2, "'t'"),
    Case("t-nan", M, _lines(HEADER, frame(1, "NaN", raw=NOTE)), 2, "NaN"),
    Case("t-string", M, _lines(HEADER, frame(1, '"0.5"', raw=NOTE)), 2, "'t'"),
    Case("dir-unknown", M, _lines(HEADER, frame(1, 0.5, "sideways", raw=NOTE)), 2, "'dir' must be"),
    Case("eol-unknown", M, _lines(HEADER, frame(1, eol="cr", raw=NOTE)), 2, "'eol' must be"),
    Case("msg-and-text", M, _lines(HEADER, frame(1, text="x", raw=NOTE)), 2, "exactly one"),
    Case("text-and-b64", M, _lines(HEADER, frame(1, text="x", b64="eA==")), 2, "exactly one"),
    Case("no-payload", M, _lines(HEADER, frame(1)), 2, "exactly one"),
    Case("text-number", M, _lines(HEADER, frame(1, text=5)), 2, "'text' must be a string"),
    Case("b64-invalid", M, _lines(HEADER, frame(1, b64="!!!")), 2, "base64"),
    Case("redacted-string", M, _lines(HEADER, frame(1, redacted="x", raw=NOTE)), 2, "redacted"),
    Case("msg-not-json", M, _lines(HEADER, frame(1, raw=b'{"a":}')), 2, "not a JSON line"),
    Case("msg-invalid-utf8", M, _lines(HEADER, frame(1, raw=b'"\xff\xfe"')), 2, "not UTF-8"),
    Case("msg-nan", M, _lines(HEADER, frame(1, raw=b'{"a":NaN}')), 2, "NaN"),
    Case("msg-501-deep", M, _lines(HEADER, frame(1, raw=b"[" * 501 + b"]" * 501)), 2, "500 deep"),
    Case("trailing-garbage", M, _lines(HEADER, frame(1, raw=NOTE)[:-1] + b" x\n"), 2, "JSON"),
    Case(
        "line-over-max-line",
        M,
        _lines(HEADER, frame(1, 0.5, "err", text="y" * 2 * SMALL_MAX_LINE)),
        2,
        "longer than",
    ),
    # unreadable paths
    Case("missing", U, lambda d: d / "missing.ndjson", reason="No such file"),
    Case("directory", U, _special("directory"), reason="a directory"),
    Case("fifo", U, _special("fifo"), reason="FIFO"),
    Case("symlink-loop", U, _special("loop"), reason="symbolic links"),
    Case("dangling-symlink", U, _special("dangling"), reason="No such file"),
    Case("unreadable", U, _special("unreadable"), reason="Permission denied"),
    Case("dev-zero", U, _special("/dev/zero"), reason="character device"),
    Case("dev-null", U, _special("/dev/null"), reason="character device"),
]
"""Every case, by name."""
