"""Load a cassette quickly for replay. Pure apart from reading the file.

The common frame line, ``{"seq":N,"t":T,"dir":"D"[,"eol":"E"],"msg":RAW}``, is split by
one regular expression instead of being parsed: RAW is the message's bytes, verbatim, so
nothing else is needed to replay it. Every other line (header, footer, text, base64,
redacted frames, anything unusual) goes through :func:`acp_tap.cassette.codec.decode_line`,
and the structure rules are those of :func:`acp_tap.cassette.reader.load`, whose result
this is. A RAW that is not valid JSON is only noticed when (if) it is parsed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.cassette.reader import Cassette, CassetteBuilder
from acp_tap.errors import UsageError
from acp_tap.replay.compiler import Compiler
from acp_tap.replay.matching import IgnorePath
from acp_tap.replay.plan import Plan

_FRAME = re.compile(
    rb'\{"seq":(\d+),"t":(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?),"dir":"(c2a|a2c|err)"'
    rb'(?:,"eol":"(crlf|none)")?,"msg":(.*)\}\r?\n'
)
"""A whole frame line in the writer's own layout, terminator included (``.`` stops at LF)."""
_DIRECTIONS = {d.value.encode(): d for d in Direction}
_EOLS = {None: Eol.LF, b"crlf": Eol.CRLF, b"none": Eol.NONE}


def load_for_replay(path: str | os.PathLike[str]) -> Cassette:
    """Load a cassette, as :func:`acp_tap.cassette.reader.load` does, only faster."""
    frames: list[Frame] = []
    directions, eols, json_payload = _DIRECTIONS, _EOLS, Payload.JSON

    def fast(m: re.Match[bytes]) -> None:
        seq, t, direction, eol, raw = m.groups()
        frames.append(
            Frame(int(seq), float(t), directions[direction], raw, json_payload, eols[eol])
        )

    return _scan(os.fspath(path), fast, frames.append).cassette(frames)


def compile_path(
    path: str | os.PathLike[str], ignore: Sequence[str] = (), *, stderr: bool = False
) -> tuple[Plan, Cassette]:
    """Read and compile a cassette in one pass: the plan, and the cassette without frames.

    Agent messages in the usual layout never become :class:`Frame` objects; raises what
    :func:`load_for_replay` and :func:`~acp_tap.replay.compiler.compile_plan` raise.
    """
    compiler = Compiler(tuple(IgnorePath.parse(p) for p in ignore), stderr)
    add_client, add_agent, add_message = (
        compiler.add_client,
        compiler.add_agent,
        compiler.add_agent_message,
    )
    directions, eols, json_payload = _DIRECTIONS, _EOLS, Payload.JSON
    last_t = 0.0

    def fast(m: re.Match[bytes]) -> None:
        nonlocal last_t
        seq, t, direction, eol, raw = m.groups()
        last_t = float(t)
        if direction == b"a2c":
            add_message(int(seq), last_t, raw, eols[eol])
        else:
            slow(Frame(int(seq), last_t, directions[direction], raw, json_payload, eols[eol]))

    def slow(frame: Frame) -> None:
        nonlocal last_t
        last_t = frame.t
        if frame.dir is Direction.CLIENT_TO_AGENT:
            add_client(frame)
        else:
            add_agent(frame)

    cassette = _scan(os.fspath(path), fast, slow).cassette([])
    return compiler.finish(cassette.footer, last_t), cassette


def _scan(
    name: str, fast: Callable[[re.Match[bytes]], None], slow: Callable[[Frame], None]
) -> CassetteBuilder:
    """Walk the file's lines: frames in the usual layout to ``fast``, other frames to ``slow``."""
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(
            f"cannot read cassette {name}: {exc.strerror or exc}; "
            "record one with 'acp-tap record -o FILE -- AGENT...'"
        ) from None
    builder = CassetteBuilder(name, slow)
    match = _FRAME.match
    at, size = 0, len(data)
    while at < size:
        m = match(data, at) if builder.in_frames else None
        if m is not None:
            fast(m)
            at = m.end()
            continue
        end = data.find(b"\n", at)
        cut = end < 0  # a last line without newline: maybe a write cut short by a kill
        line = data[at:] if cut else data[at:end]
        if line.strip():
            lineno = data.count(b"\n", 0, at) + 1
            if not builder.add(line, lineno, cut=cut):
                break
        at = size if cut else end + 1
    return builder
