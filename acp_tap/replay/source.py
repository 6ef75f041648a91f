"""Read and compile a cassette for replay in one pass. Pure apart from reading the file.

The frames come split from :func:`acp_tap.matching.loader.fast_frames`; agent messages in
the usual layout go straight to the compiler without becoming :class:`Frame` objects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from acp_tap.cassette.framelines import DIRECTIONS, EOLS
from acp_tap.cassette.inputs import DEFAULT_MAX_LINE
from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.cassette.reader import Cassette, CassetteBuilder
from acp_tap.matching.loader import fast_frames
from acp_tap.matching.normal import IgnorePath
from acp_tap.replay.compiler import Compiler
from acp_tap.replay.plan import Plan


def compile_path(
    path: str | os.PathLike[str],
    ignore: Sequence[str] = (),
    *,
    stderr: bool = False,
    max_line: int = DEFAULT_MAX_LINE,
) -> tuple[Plan, Cassette]:
    """Read and compile a cassette in one pass: the plan, and the cassette without frames.

    Agent messages in the usual layout never become :class:`Frame` objects; raises what
    :func:`~acp_tap.matching.loader.load_for_replay` and
    :func:`~acp_tap.replay.compiler.compile_plan` raise.
    """
    compiler = Compiler(tuple(IgnorePath.parse(p) for p in ignore), stderr)
    add_client, add_agent, add_message = (
        compiler.add_client,
        compiler.add_agent,
        compiler.add_agent_message,
    )
    directions, eols, json_payload = DIRECTIONS, EOLS, Payload.JSON
    last_t = 0.0

    def slow(frame: Frame) -> None:
        nonlocal last_t
        last_t = frame.t
        if frame.dir is Direction.CLIENT_TO_AGENT:
            add_client(frame)
        else:
            add_agent(frame)

    builder = CassetteBuilder(os.fspath(path), slow)
    for seq, t, direction, eol, raw, id_text, method, sid in fast_frames(builder, max_line):
        last_t = t
        if direction == b"a2c":
            add_message(seq, t, raw, eols[eol], head=(id_text, method, sid))
        else:
            slow(Frame(seq, t, directions[direction], raw, json_payload, eols[eol]))
    cassette = builder.cassette([])
    return compiler.finish(cassette.footer, last_t), cassette
