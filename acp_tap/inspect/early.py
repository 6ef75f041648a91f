"""Notifications for a session announced before the ``session/new`` result names it. Pure.

kiro-cli 2.x, for a new session, sends ``_kiro.dev/mcp/server_initialized``,
``_kiro.dev/commands/available`` and ``_kiro.dev/metadata`` carrying the new session id
*before* the ``session/new`` result. ``check`` holds such notifications while a
``session/new`` is pending: those naming the session its result then opens are a note
(``early-session``), the others ``unknown-session`` once no ``session/new`` is pending.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from acp_tap.inspect.rules import At, Findings

MEMORY = 1024
"""Notifications held at most; beyond, each is reported at once."""


@attrs.define(eq=False)
class EarlyAnnouncements:
    """The notifications held while a ``session/new`` is pending."""

    findings: Findings
    unknown: Callable[[str, At], None]  # reports an unknown session
    _held: list[tuple[str, At]] = attrs.field(init=False, factory=list)

    def hold(self, session: str, at: At) -> bool:
        """Hold a notification for an unknown ``session``; False if it cannot be held."""
        if len(self._held) >= MEMORY:
            return False
        self._held.append((session, at))
        return True

    def settle(self, opened: str | None, result: At | None, *, creating: bool) -> None:
        """A ``session/new`` was answered (``opened``: the session it names, at ``result``),
        or the cassette ended (both None); ``creating``: another is still pending."""
        held, self._held = self._held, []
        for session, at in held:
            if session == opened and result is not None:
                self.findings.add(
                    "early-session",
                    at,
                    f"{at.method} for session {session!r} came before the session/new result "
                    f"that names it (frame {result.seq}), as kiro-cli sends it",
                )
            elif creating:
                self._held.append((session, at))
            else:
                self.unknown(session, at)
