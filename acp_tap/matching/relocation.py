"""Working directory relocation: a cassette recorded in one checkout replays in another.

When the live side works in another directory than the recorded one (a client's
``session/new``/``session/load`` names another ``cwd`` in ``acp-tap replay``; ``--cwd`` in
``acp-tap rerun``), the recorded directory is rewritten into the live one in what is sent
to the live side, and the live one into the recorded one in what it sends, before it is
compared. The rewrite works on raw JSON bytes, so everything else keeps its recorded
bytes. Pure.
"""

from __future__ import annotations

import json
import re

import attrs

SESSION_CREATORS = frozenset({"session/new", "session/load", "session/resume", "session/fork"})
"""Requests whose ``params.cwd`` is a working directory (and whose answer may name a session)."""


def _json_text(path: str) -> bytes:
    return json.dumps(path, ensure_ascii=False)[1:-1].encode("utf-8", "surrogatepass")


_PATH_BOUNDARY = rb"(?![A-Za-z0-9._~-])"


def clean_dir(path: str) -> str:
    """A directory without trailing separators (``/`` stays ``/``)."""
    stripped = path.rstrip("/\\")
    return stripped or path


@attrs.define(eq=False)
class Relocation:
    """Working directory pairs (recorded, live); rewrites one into the other in JSON bytes.

    A directory is replaced wherever it appears in a string and is followed by a path
    boundary (``/``, end of string, quote...), so ``/a/proj`` never rewrites ``/a/project``.
    """

    pairs: list[tuple[str, str]] = attrs.field(factory=list)
    _to_live: re.Pattern[bytes] | None = None
    _to_recorded: re.Pattern[bytes] | None = None
    _live_text: dict[bytes, bytes] = attrs.field(factory=dict)
    _recorded_text: dict[bytes, bytes] = attrs.field(factory=dict)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def add(self, recorded: str, live: str) -> bool:
        """Map ``recorded`` to ``live``; ``False`` if the pair is unusable or conflicts."""
        recorded, live = clean_dir(recorded), clean_dir(live)
        if recorded == live or "/" in (recorded, live) or not recorded or not live:
            return False
        if any(recorded == r or live == li for r, li in self.pairs):
            return False
        self.pairs.append((recorded, live))
        self._live_text[_json_text(recorded)] = _json_text(live)
        self._recorded_text[_json_text(live)] = _json_text(recorded)
        self._to_live = _alternation(self._live_text)
        self._to_recorded = _alternation(self._recorded_text)
        return True

    def to_live(self, data: bytes) -> bytes:
        """Rewrite recorded directories to live ones (for frames sent to the client)."""
        if self._to_live is None:
            return data
        table = self._live_text
        return self._to_live.sub(lambda m: table[m.group(0)], data)

    def to_recorded(self, data: bytes) -> bytes:
        """Rewrite live directories to recorded ones (for client messages being matched)."""
        if self._to_recorded is None:
            return data
        table = self._recorded_text
        return self._to_recorded.sub(lambda m: table[m.group(0)], data)

    def trial(self, recorded: str, live: str, data: bytes) -> bytes:
        """``data`` as :meth:`to_recorded` would rewrite it if ``(recorded, live)`` were added."""
        trial = Relocation()
        for r, li in [*self.pairs, (recorded, live)]:
            trial.add(r, li)
        return trial.to_recorded(data)


def _alternation(table: dict[bytes, bytes]) -> re.Pattern[bytes]:
    alternatives = sorted(table, key=len, reverse=True)  # longest first: nested checkouts
    return re.compile(b"(?:" + b"|".join(map(re.escape, alternatives)) + b")" + _PATH_BOUNDARY)
