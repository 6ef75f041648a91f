"""Standard output for the commands that print: a reader that goes away (``| head``) ends the
output quietly, never with a traceback, and the command's exit status still counts."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TextIO

import attrs


def discard_output(stream: TextIO) -> None:
    """The reader of ``stream`` went away: drop the rest, and the flush at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


@attrs.define
class PipeOutput:
    """A text stream that goes silent once its reader is gone (``gone`` then says so)."""

    stream: TextIO = attrs.field(factory=lambda: sys.stdout)
    gone: bool = False

    def write(self, text: str) -> None:
        """Write ``text``, unless the reader has gone."""
        if self.gone:
            return
        try:
            self.stream.write(text)
        except BrokenPipeError:
            self.gone = True
            discard_output(self.stream)

    def flush(self) -> None:
        """Flush, unless the reader has gone."""
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.gone = True
                discard_output(self.stream)


def warn(command: str, warnings: Iterable[str]) -> None:
    """Print each warning on stderr as ``acp-tap COMMAND: warning: ...``."""
    for warning in warnings:
        print(f"acp-tap {command}: warning: {warning}", file=sys.stderr)
