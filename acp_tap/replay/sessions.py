"""Where a session's frames go while a recording is compiled: its lanes and dependencies.

The session rules of :mod:`acp_tap.replay.plan`, kept up to date as the compiler reads
the recording in order: each session's latest client message, open turn, latest request
that is not a prompt, and the request that created it. Pure.
"""

from __future__ import annotations

import attrs

from acp_tap.matching.relocation import SESSION_CREATORS
from acp_tap.replay.plan import PROMPT


@attrs.define(eq=False)
class Session:
    """What the pass knows of one session so far (client steps by number)."""

    name: str
    latest: int | None = None  # its latest client message
    turn: int | None = None  # its open prompt (not answered yet)
    setup: int | None = None  # its latest client request that is not a prompt
    creator: int | None = None  # the request whose result named it
    own_lane: int | None = None  # its notifications outside a turn
    lane: int | None = None  # cached lane of its turn frames (None: to be worked out)


@attrs.define(eq=False)
class Sessions:
    """Every session of the recording so far, and the requests that may create one."""

    lane_of_client: list[int]  # the compiler's, by client step
    latest_in_lane: list[int | None]  # the compiler's, by lane (a new lane is appended)
    by_name: dict[str, Session] = attrs.field(factory=dict)
    by_raw: dict[bytes, Session] = attrs.field(factory=dict)  # raw JSON text of the id
    open_creators: list[int] = attrs.field(factory=list)  # not answered yet
    latest_setup: int | None = None  # the latest client request that is not a prompt

    def new_lane(self) -> int:
        """A new lane's number."""
        self.latest_in_lane.append(None)
        return len(self.latest_in_lane) - 1

    def get(self, name: str) -> Session:
        """The state of session ``name``."""
        state = self.by_name.get(name)
        if state is None:
            state = self.by_name[name] = Session(name)
        return state

    def raw(self, sid: bytes) -> Session:
        """The state of the session whose id is ``sid`` in the recording's bytes (no escapes)."""
        state = self.by_raw.get(sid)
        if state is None:
            state = self.by_raw[sid] = self.get(sid.decode())
        return state

    # -- as client messages and responses are read --------------------------------------

    def request(self, index: int, method: str | None, state: Session | None) -> None:
        """Client request ``index`` (of session ``state``, if it names one)."""
        if method in SESSION_CREATORS:
            self.open_creators.append(index)
        if method != PROMPT:
            self.latest_setup = index
        if state is not None:
            if method == PROMPT:
                state.turn = index
            else:
                state.setup = index

    def said(self, state: Session, index: int) -> None:
        """Client message ``index`` belongs to session ``state``."""
        state.latest, state.lane = index, None

    def notification_lane(self, state: Session) -> int:
        """A client notification's lane: the session's open turn, else its own lane."""
        return self.lane_of_client[state.turn] if state.turn is not None else self.own(state)

    def answered(
        self, request: int, method: str | None, session: str | None, created: str | None
    ) -> None:
        """The agent answered client request ``request`` (``created``: the session its
        result names)."""
        if method in SESSION_CREATORS:
            if request in self.open_creators:
                self.open_creators.remove(request)
            if created is not None:
                state = self.get(created)
                if state.creator is None:
                    state.creator, state.lane = request, None
        elif method == PROMPT and session is not None:
            state = self.get(session)
            if state.turn == request:
                state.turn, state.lane = None, None

    # -- lanes and dependencies of agent frames ------------------------------------------

    def own(self, state: Session) -> int:
        """The session's own lane (its notifications outside a turn)."""
        if state.own_lane is None:
            state.own_lane = self.new_lane()
        return state.own_lane

    def anchor(self, state: Session) -> int | None:
        """The request that created the session, else the creator still waiting for its answer."""
        if state.creator is not None:
            return state.creator
        return self.open_creators[-1] if self.open_creators else None

    def level_lane(self, state: Session) -> int:
        """The lane of the session's latest client message (else of its creation)."""
        if state.latest is not None:
            return self.lane_of_client[state.latest]
        anchor = self.anchor(state)
        return self.lane_of_client[anchor] if anchor is not None else self.own(state)

    def turn_lane(self, state: Session) -> int:
        """The lane of the session's turn frames: its open turn, else as :meth:`level_lane`."""
        lane = state.lane
        if lane is None:
            turn = state.turn
            lane = state.lane = (
                self.lane_of_client[turn] if turn is not None else self.level_lane(state)
            )
        return lane

    def setup_deps(self, state: Session | None) -> tuple[int, ...]:
        """A session-level notification's: the latest request of its session that is not a
        prompt (else the session's creation, else the latest such request of any session)."""
        dep = None
        if state is not None:
            dep = state.setup if state.setup is not None else self.anchor(state)
        if dep is None:
            dep = self.latest_setup
        return () if dep is None else (dep,)
