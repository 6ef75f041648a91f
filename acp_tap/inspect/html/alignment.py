"""Two conversations side by side: the rows of ``diff --html``, aligned by turn. Pure.

Rows follow :func:`acp_tap.inspect.diff.diff`: turns are paired by session ordinal and
turn index, and each row lists the differences found for it, so the page and ``acp-tap
diff`` always agree. A turn is named by the seq of its ``session/prompt`` (or
``session/load``) frame, which the page finds in its track.
"""

from __future__ import annotations

from typing import Any

from acp_tap.inspect.conversation import Turn
from acp_tap.inspect.diff import Change, Summary


def change_records(changes: list[Change]) -> list[dict[str, Any]]:
    """The differences as the page shows them: where, which field, and the text ``diff`` prints."""
    return [{"where": c.where, "field": c.field, "text": c.render()} for c in changes]


def aligned_rows(a: Summary, b: Summary, changes: list[Change]) -> list[dict[str, Any]]:
    """One row per (session ordinal, turn index) in either conversation, in order."""
    left, right = _turns_by_session(a), _turns_by_session(b)
    by_place: dict[str, list[int]] = {}
    for number, change in enumerate(changes):
        by_place.setdefault(change.where, []).append(number)
    return [
        {
            "session": ordinal,
            "turn": index + 1,
            "a": left[ordinal][index].seq if index < len(left.get(ordinal, ())) else None,
            "b": right[ordinal][index].seq if index < len(right.get(ordinal, ())) else None,
            "changes": by_place.get(f"session {ordinal} turn {index + 1}", []),
        }
        for ordinal in sorted(left.keys() | right.keys())
        for index in range(max(len(left.get(ordinal, ())), len(right.get(ordinal, ()))))
    ]


def _turns_by_session(summary: Summary) -> dict[int, list[Turn]]:
    grouped: dict[int, list[Turn]] = {}
    for ordinal, turn in summary.turns:
        grouped.setdefault(ordinal, []).append(turn)
    return grouped
