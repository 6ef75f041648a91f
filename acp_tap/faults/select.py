"""Which frames a fault hits: globs, ``nth``, and a probability drawn from a seed. Pure.

A frame is described by a :class:`Target` (its seq, method, update kind, JSON-RPC kind).
:class:`Selector` is fed the frames of one direction in order (recorded order on replay,
arrival order on record) and says which faults fire on each. ``p`` is not random: it is
drawn from a hash of the seed, the fault's position and the frame's seq (:func:`draw`), so
a run repeats exactly, whatever the timing.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from typing import Any

import attrs

from acp_tap.cassette.model import Direction
from acp_tap.faults.spec import ONE_SHOT, Fault, FaultKind
from acp_tap.wire.jsonrpc import Kind, envelope


@attrs.frozen
class Target:
    """What the selectors see of one frame."""

    seq: int
    kind: Kind | None = None  # None: the line is not JSON
    method: str | None = None  # a response: the method of the request it answers
    update: str | None = None  # a session/update's sessionUpdate kind

    @classmethod
    def of(cls, seq: int, message: Any, answered: str | None = None) -> Target:
        """The target for a decoded message (``answered``: a response's request method)."""
        env = envelope(message)
        if env.is_response:
            return cls(seq, env.kind, answered)
        update = None
        if env.method == "session/update":
            params = message.get("params")
            inner = params.get("update") if isinstance(params, dict) else None
            kind = inner.get("sessionUpdate") if isinstance(inner, dict) else None
            update = kind if isinstance(kind, str) else None
        return cls(seq, env.kind, env.method, update)

    def describe(self) -> str:
        """``frame #12 session/update (agent_message_chunk)``, for messages."""
        if self.kind is None:
            what = "(a line that is not JSON)"
        elif self.kind in (Kind.RESPONSE, Kind.ERROR):
            what = f"the answer to {self.method or 'a request'}"
        else:
            what = self.method or f"(a {self.kind.value} message)"
        update = f" ({self.update})" if self.update else ""
        return f"frame #{self.seq} {what}{update}"


def draw(seed: int, position: int, seq: int, purpose: str = "p") -> float:
    """A number in [0, 1) fixed by the seed, the fault's position and the frame's seq."""
    key = f"{seed}/{position}/{seq}/{purpose}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def applies(fault: Fault, target: Target) -> bool:
    """Whether ``target`` is a frame of the kind ``fault`` acts on, and matches its globs."""
    if fault.kind is FaultKind.ERROR and target.kind is not Kind.RESPONSE:
        return False  # only a result can become an error
    if fault.kind is FaultKind.FLOOD and target.kind is not Kind.NOTIFICATION:
        return False
    if fault.method is not None and not (
        target.method is not None and fnmatch.fnmatchcase(target.method, fault.method)
    ):
        return False
    return fault.update is None or (
        target.update is not None and fnmatch.fnmatchcase(target.update, fault.update)
    )


@attrs.define(eq=False)
class Selector:
    """The faults of one run, and how many frames each has matched so far."""

    faults: tuple[Fault, ...]
    seed: int = 0
    _matched: list[int] = attrs.field(init=False)
    _spent: list[bool] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._matched = [0] * len(self.faults)
        self._spent = [False] * len(self.faults)

    @classmethod
    def of(cls, faults: Sequence[Fault], seed: int = 0) -> Selector:
        """A selector with nothing matched yet."""
        return cls(tuple(faults), seed)

    def pick(
        self, target: Target, direction: Direction = Direction.AGENT_TO_CLIENT
    ) -> tuple[Fault, ...]:
        """The faults that fire on the next frame of ``direction``, in command-line order.

        A fault with ``nth`` fires on that matching frame only; ``hang``, ``crash``,
        ``close`` and ``error`` fire on the first frame they select; the others on every
        frame they select.
        """
        fired = []
        for i, fault in enumerate(self.faults):
            if fault.direction is not direction or self._spent[i] or not applies(fault, target):
                continue
            self._matched[i] += 1
            if fault.nth is not None:
                if self._matched[i] < fault.nth:
                    continue
                self._spent[i] = True
            if fault.p is not None and draw(self.seed, fault.position, target.seq) >= fault.p:
                continue
            if fault.kind in ONE_SHOT:
                self._spent[i] = True
            fired.append(fault)
        return tuple(fired)
