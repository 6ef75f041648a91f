"""Find the recorded message a live one stands for, or the closest one. Pure; no I/O.

Recorded messages are indexed by the key of their normal form (:mod:`acp_tap.matching.normal`),
so finding one is a dict lookup; the (bounded) search for the *closest* recorded message
happens only on a miss.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import attrs

from acp_tap.matching.diff import Difference, differences


@attrs.frozen
class Closest:
    """The recorded message nearest to one that matched nothing, and how they differ."""

    index: int
    differences: tuple[Difference, ...]
    used: bool = False  # every recorded message of the method was already used


CLOSEST_CANDIDATES = 32
"""How many unused recorded messages a miss compares against (bounded work)."""


@attrs.define(eq=False)
class MatchIndex:
    """Recorded client messages by key, each key a first-in-first-out queue.

    ``take`` is a dict lookup; consumed messages are remembered so a repeat can be named
    and answered (the n-th repeat of a key as the n-th recorded message with it, cycling).
    """

    _by_key: dict[bytes, deque[int]] = attrs.field(factory=dict)
    _all_by_key: dict[bytes, list[int]] = attrs.field(factory=dict)
    _repeats: dict[bytes, int] = attrs.field(factory=dict)
    _by_method: dict[str | None, deque[int]] = attrs.field(factory=dict)
    _all_by_method: dict[str | None, list[int]] = attrs.field(factory=dict)
    _order: deque[int] = attrs.field(factory=deque)
    _used: set[int] = attrs.field(factory=set)

    def add(self, index: int, method: str | None, key: bytes) -> None:
        """Index recorded message number ``index`` (call in recorded order)."""
        self._by_key.setdefault(key, deque()).append(index)
        self._all_by_key.setdefault(key, []).append(index)
        self._by_method.setdefault(method, deque()).append(index)
        self._all_by_method.setdefault(method, []).append(index)
        self._order.append(index)

    def take(self, key: bytes) -> int | None:
        """Consume the first unused recorded message with ``key``."""
        queue = self._by_key.get(key)
        if not queue:
            return None
        index = queue.popleft()
        self._used.add(index)
        return index

    def take_first(self, keys: Sequence[bytes]) -> int | None:
        """Consume the first unused recorded message (in recorded order) with any of ``keys``."""
        if len(keys) == 1:
            return self.take(keys[0])
        first = self.first(keys)
        return None if first is None else self.take(first[1])

    def first(self, keys: Sequence[bytes]) -> tuple[int, bytes] | None:
        """The first unused recorded message with any of ``keys``, and its key (not consumed)."""
        heads = [(q[0], k) for k in keys if (q := self._by_key.get(k))]
        return min(heads) if heads else None

    def recorded(self, keys: Sequence[bytes]) -> bytes | None:
        """The first of ``keys`` that some recorded message has."""
        return next((k for k in keys if k in self._all_by_key), None)

    def repeat(self, key: bytes) -> int:
        """The recorded message that answers the next repeat of ``key`` (recorded with it):
        the n-th repeat, the n-th recorded one, cycling."""
        recorded = self._all_by_key[key]
        n = self._repeats.get(key, 0)
        self._repeats[key] = n + 1
        return recorded[n % len(recorded)]

    def last_of(self, key: bytes) -> int:
        """The last recorded message with ``key`` (to name a repeat)."""
        return self._all_by_key[key][-1]

    def methods(self) -> list[str | None]:
        """The methods of the recorded messages, in the order they first appear."""
        return list(self._all_by_method)

    def unused(self, method: str | None = None, *, any_method: bool = False) -> list[int]:
        """Up to :data:`CLOSEST_CANDIDATES` unused messages (of ``method``), oldest first."""
        queue = self._order if any_method else self._by_method.get(method)
        if queue is None:
            return []
        while queue and queue[0] in self._used:  # amortised: each index leaves once
            queue.popleft()
        out: list[int] = []
        for index in queue:
            if index not in self._used:
                out.append(index)
                if len(out) >= CLOSEST_CANDIDATES:
                    break
        return out

    def closest(
        self, method: str | None, got: Any, normal_of: Any, limit: int = 20
    ) -> Closest | None:
        """The recorded message nearest to ``got``: an unused one of the same method, else
        a used one of the same method, else an unused one of any method.

        ``normal_of(index)`` gives a recorded message's normal form.
        """
        candidates, used = self.unused(method), False
        if not candidates:
            recent = self._all_by_method.get(method, [])[-CLOSEST_CANDIDATES:]
            candidates, used = (recent, True) if recent else (self.unused(any_method=True), False)
        best: Closest | None = None
        for index in candidates:
            diffs = differences(normal_of(index), got, limit=limit)
            if best is None or len(diffs) < len(best.differences):
                best = Closest(index, tuple(diffs), used)
        return best
