"""A conversation transcript, and stream wrappers that collect one as bytes pass.

Used by ``acp-tap replay --report`` and the pytest plugin, so a test can assert on what
the client sent and received.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from typing import Any

import attrs
import trio

from acp_tap.cassette.classify import classify
from acp_tap.cassette.codec import loads_strict
from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.inspect.conversation import Turn, fold
from acp_tap.wire.framing import LineSplitter


@attrs.define(eq=False)
class Transcript:
    """Lines in the order they passed: ``(direction, bytes)``, and when (``times``: seconds
    since the transcript began, one per line)."""

    lines: list[tuple[Direction, bytes]] = attrs.field(factory=list)
    times: list[float] = attrs.field(factory=list)
    began: float = attrs.field(factory=time.monotonic)

    @classmethod
    def from_frames(cls, frames: Iterable[Frame]) -> Transcript:
        """The stdio lines of a cassette (stderr left out)."""
        stdio = [f for f in frames if f.dir is not Direction.AGENT_STDERR]
        return cls([(f.dir, bytes(f.raw)) for f in stdio], [f.t for f in stdio])

    @classmethod
    def from_json(cls, value: list[list[Any]]) -> Transcript:
        """Read what :meth:`to_json` wrote."""
        lines = [(Direction(item[0]), base64.b64decode(item[1])) for item in value]
        return cls(lines, [float(item[2]) if len(item) > 2 else 0.0 for item in value])

    def to_json(self) -> list[list[Any]]:
        """JSON-serialisable form (lines in base64: they may be anything)."""
        times = self.times if len(self.times) == len(self.lines) else [0.0] * len(self.lines)
        return [
            [d.value, base64.b64encode(line).decode(), round(t, 6)]
            for (d, line), t in zip(self.lines, times, strict=True)
        ]

    def add(self, direction: Direction, line: bytes) -> None:
        """Note one line, now."""
        self.lines.append((direction, line))
        self.times.append(time.monotonic() - self.began)

    def frames(self) -> list[Frame]:
        """The lines as cassette frames (seq from 1, times since the transcript began)."""
        out = []
        times = self.times if len(self.times) == len(self.lines) else [0.0] * len(self.lines)
        for seq, ((d, line), t) in enumerate(zip(self.lines, times, strict=True), start=1):
            out.append(Frame(seq, t, d, line, classify(line).payload))
        return out

    def messages(self, direction: Direction) -> list[Any]:
        """The JSON messages sent in one direction (non-JSON lines left out)."""
        out = []
        for d, line in self.lines:
            if d is direction:
                try:
                    out.append(loads_strict(line.decode("utf-8")))
                except ValueError:
                    continue
        return out

    @property
    def client_messages(self) -> list[Any]:
        """What the client sent."""
        return self.messages(Direction.CLIENT_TO_AGENT)

    @property
    def agent_messages(self) -> list[Any]:
        """What the agent sent."""
        return self.messages(Direction.AGENT_TO_CLIENT)

    @property
    def turns(self) -> list[Turn]:
        """Prompt turns: prompt, agent text with chunks joined, tool calls, stop reason..."""
        frames = []
        for seq, (d, line) in enumerate(self.lines, start=1):
            try:
                parsed = loads_strict(line.decode("utf-8"))
            except ValueError:
                continue
            frames.append((seq, Frame(seq, 0.0, d, line, Payload.JSON, parsed=parsed)))
        return sorted(fold(frames), key=lambda turn: turn.seq)

    def render(self, limit: int = 200) -> str:
        """A readable listing for test failure reports (long lines shortened)."""
        arrows = {
            Direction.CLIENT_TO_AGENT: "client -> agent",
            Direction.AGENT_TO_CLIENT: "agent -> client",
        }
        rows = []
        for d, line in self.lines:
            text = line.decode("utf-8", "replace")
            rows.append(
                f"{arrows.get(d, d.value)}: {text if len(text) <= limit else text[:limit] + '...'}"
            )
        return "\n".join(rows)


@attrs.define(eq=False)
class TapReceive(trio.abc.ReceiveStream):
    """Passes a receive stream through, noting each complete line in a transcript."""

    inner: trio.abc.ReceiveStream
    transcript: Transcript
    direction: Direction
    _splitter: LineSplitter = attrs.field(factory=LineSplitter)
    ended: bool = False  # the stream's end was received

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Receive and note."""
        data = await self.inner.receive_some(max_bytes)
        self.ended = self.ended or not data
        note(self.transcript, self.direction, self._splitter, data)
        return data

    async def aclose(self) -> None:
        """Close the inner stream."""
        await self.inner.aclose()


@attrs.define(eq=False)
class TapSend(trio.abc.SendStream):
    """Passes a send stream through, noting each complete line in a transcript."""

    inner: trio.abc.SendStream
    transcript: Transcript
    direction: Direction
    _splitter: LineSplitter = attrs.field(factory=LineSplitter)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send and note."""
        await self.inner.send_all(data)
        note(self.transcript, self.direction, self._splitter, bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        """As the inner stream."""
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        """Close the inner stream."""
        await self.inner.aclose()


def note(
    transcript: Transcript, direction: Direction, splitter: LineSplitter, data: bytes | bytearray
) -> None:
    """Feed ``data`` to ``splitter``; append completed lines to ``transcript``."""
    if not data:
        last = splitter.close()
        lines = [] if last is None else [last]
    else:
        lines = splitter.feed(data)
    for line in lines:
        transcript.add(direction, bytes(line.content))


def dump_report(status: int, reports: list[str], transcript: Transcript) -> str:
    """One line of ``acp-tap replay --report``: the outcome of one replay process."""
    return (
        json.dumps({"status": status, "reports": reports, "transcript": transcript.to_json()})
        + "\n"
    )
