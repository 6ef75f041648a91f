"""Property: replay(record(x)) is observed as x by the client, under any legal interleaving.

A scripted agent and a scripted client hold conversations in several sessions (prompt
turns with updates, permission requests, file reads and cancels). A random schedule
interleaves the sessions while recording; another random schedule (and other request
ids) drives the replay. Each session's client must observe exactly what it observed
while recording, every client message must match, and the replay must exit 0.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import dumps_compact
from acp_tap.replay.actions import Exit, Mismatch, ReplayOptions, Send
from acp_tap.replay.engine import ReplayEngine
from tests.replay_support import Recording, notification, prompt, request, result, update

Event = tuple[str, str]
Json = dict[str, Any]
INIT = request(0, "initialize", {"protocolVersion": 1})
INIT_RESULT = result(0, {"protocolVersion": 1})


@attrs.frozen
class Turn:
    """One prompt turn: what the agent does, and when the client cancels (after N updates)."""

    text: str
    events: tuple[Event, ...]
    cancel_after: int | None


events = st.lists(
    st.tuples(st.just("update"), st.sampled_from(["a", "b", "c"]))
    | st.tuples(st.just("permission"), st.sampled_from(["allow", "reject"]))
    | st.tuples(st.just("read"), st.sampled_from(["/w/x", "/w/y"])),
    max_size=5,
).map(tuple)
turns = st.builds(
    Turn,
    text=st.sampled_from(["hi", "do it", "again"]),
    events=events,
    cancel_after=st.none() | st.integers(1, 2),
)
conversations = st.lists(st.lists(turns, max_size=3).map(tuple), min_size=1, max_size=3)


def answer_to(msg: Json) -> Json:
    """The client's answer to an agent request: a function of the request alone."""
    params = msg["params"]
    if msg["method"] == "session/request_permission":
        option = params["toolCall"]["title"]
        return result(msg["id"], {"outcome": {"outcome": "selected", "optionId": option}})
    return result(msg["id"], {"content": f"content of {params['path']}"})


@attrs.define
class ClientSession:
    """The client side of one session: decides what to send from what it observed."""

    k: int
    turns: tuple[Turn, ...]
    new_id: Callable[[], Any]
    outbox: deque[Json] = attrs.field(factory=deque)
    observed: list[Json] = attrs.field(factory=list)
    sid: str | None = None
    turn: int = -1
    updates: int = 0
    cancelled: bool = False
    mine: dict[Any, str] = attrs.field(factory=dict)  # (type, id) -> what it was

    @property
    def finished(self) -> bool:
        """Whether the client has nothing more to do in this session."""
        return self.turn >= len(self.turns) and not self.outbox and not self.mine

    def begin(self) -> None:
        """Ask for the session."""
        self.send(request(self.new_id(), "session/new", {"cwd": f"/w/s{self.k}", "mcpServers": []}))

    def send(self, msg: Json) -> None:
        """Queue a message; remember our requests."""
        if "method" in msg and "id" in msg:
            self.mine[(type(msg["id"]), msg["id"])] = msg["method"]
        self.outbox.append(msg)

    def observe(self, msg: Json) -> None:
        """An agent frame for this session arrived."""
        if "method" not in msg:  # a response to one of our requests: ids are not compared
            self.observed.append({k: v for k, v in msg.items() if k != "id"})
            method = self.mine.pop((type(msg["id"]), msg["id"]))
            if method == "session/new":
                self.sid = msg["result"]["sessionId"]
            self.next_turn()
            return
        self.observed.append(msg)
        if "id" in msg:
            self.send(answer_to(msg))
        else:
            self.updates += 1
            turn = self.turns[self.turn]
            if turn.cancel_after == self.updates and not self.cancelled:
                self.cancelled = True
                self.send(notification("session/cancel", {"sessionId": self.sid}))

    def next_turn(self) -> None:
        """Send the next prompt, if any."""
        self.turn += 1
        self.updates, self.cancelled = 0, False
        if self.turn < len(self.turns):
            assert self.sid is not None
            self.send(prompt(self.new_id(), self.sid, self.turns[self.turn].text))


@attrs.define
class AgentSession:
    """The recorded agent's side of one session."""

    k: int
    turns: tuple[Turn, ...]
    new_id: Callable[[], Any]
    ready: deque[Json] = attrs.field(factory=deque)
    events: deque[Event] = attrs.field(factory=deque)
    active: Any = None  # id of the prompt being answered
    turn: int = 0
    blocked: bool = False
    cancelled: bool = False

    @property
    def sid(self) -> str:
        """This session's id."""
        return f"s{self.k}"

    def receive(self, msg: Json) -> None:
        """A client message for this session."""
        method = msg.get("method")
        if method == "session/new":
            self.ready.append(result(msg["id"], {"sessionId": self.sid}))
        elif method == "session/prompt":
            self.active, self.cancelled = msg["id"], False
            self.events = deque(self.turns[self.turn].events)
            self.turn += 1
        elif method == "session/cancel":
            if self.active is not None:
                self.events.clear()
                self.cancelled = True
        else:
            self.blocked = False

    def can_emit(self) -> bool:
        """Whether the agent has something to write now."""
        return bool(self.ready) or (self.active is not None and not self.blocked)

    def emit(self) -> Json:
        """The next frame."""
        if self.ready:
            return self.ready.popleft()
        if not self.events:
            reason = "cancelled" if self.cancelled else "end_turn"
            msg = result(self.active, {"stopReason": reason})
            self.active = None
            return msg
        kind, value = self.events.popleft()
        if kind == "update":
            return update(self.sid, value)
        self.blocked = True
        if kind == "permission":
            params = {"sessionId": self.sid, "toolCall": {"toolCallId": "t", "title": value}}
            return request(self.new_id(), "session/request_permission", params)
        return request(self.new_id(), "fs/read_text_file", {"sessionId": self.sid, "path": value})


def session_of(msg: Json, requesters: dict[Any, int]) -> int:
    """Which session a frame from the agent belongs to."""
    if "method" in msg:
        return int(msg["params"]["sessionId"][1:])
    return requesters[(type(msg["id"]), msg["id"])]


def record(conversation: list[tuple[Turn, ...]], rnd: random.Random) -> tuple[Recording, list[Any]]:
    """Hold the conversation under a random schedule; the recording and what each client saw."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    client_ids, agent_ids = itertools.count(1), itertools.count(0)
    clients = [ClientSession(k, t, client_ids.__next__) for k, t in enumerate(conversation)]
    agents = [AgentSession(k, t, agent_ids.__next__) for k, t in enumerate(conversation)]
    requesters: dict[Any, int] = {}
    for client in clients:
        client.begin()
    while True:
        moves = [(0, c.k) for c in clients if c.outbox] + [(1, a.k) for a in agents if a.can_emit()]
        if not moves:
            break
        side, k = rnd.choice(moves)
        if side == 0:
            msg = clients[k].outbox.popleft()
            if "method" in msg and "id" in msg:
                requesters[(type(msg["id"]), msg["id"])] = k
            rec.c2a(msg)
            agents[k].receive(msg)
        else:
            msg = agents[k].emit()
            rec.a2c(msg)
            clients[session_of(msg, requesters)].observe(msg)
    return rec, [c.observed for c in clients]


def replay(
    rec: Recording,
    conversation: list[tuple[Turn, ...]],
    rnd: random.Random,
    new_id: Callable[[], Any],
    *,
    sequential: bool,
) -> list[Any]:
    """Drive a replay of ``rec`` with fresh clients under another schedule; what they saw.

    ``sequential``: one session at a time, in a random order (a client that finishes one
    session before starting the next), else a random interleaving.
    """
    engine = ReplayEngine.from_cassette(rec.cassette(), ReplayOptions())
    assert engine.start(0.0) == []
    init_id = new_id()
    [init_response] = engine.receive(dumps_compact(dict(INIT, id=init_id)), 0.0)
    assert init_response == Send(dumps_compact(dict(INIT_RESULT, id=init_id)) + b"\n")
    clients = [ClientSession(k, t, new_id) for k, t in enumerate(conversation)]
    requesters: dict[Any, int] = {}
    for client in clients:
        client.begin()
    now = 0.0
    order = rnd.sample(clients, len(clients))
    while movable := [c for c in clients if c.outbox]:
        if sequential:  # the first unfinished session only
            first = next(c for c in order if not c.finished)
            movable = [first] if first.outbox else []
            if not movable:
                break  # the session waits for frames that never come: caught below
        client = rnd.choice(movable)
        msg = client.outbox.popleft()
        if "method" in msg and "id" in msg:
            requesters[(type(msg["id"]), msg["id"])] = client.k
        now += 1.0
        for action in engine.receive(dumps_compact(msg), now):
            assert not isinstance(action, Mismatch), action.report.render()
            assert isinstance(action, Send)
            for raw in action.data.splitlines():
                frame = json.loads(raw)
                clients[session_of(frame, requesters)].observe(frame)
    assert engine.statistics().pending == 0
    assert engine.close(now) == [Exit(0)]
    return [c.observed for c in clients]


@settings(max_examples=150, deadline=None)
@given(
    conversation=conversations,
    record_rnd=st.randoms(use_true_random=False),
    replay_rnd=st.randoms(use_true_random=False),
    string_ids=st.booleans(),
    sequential=st.booleans(),
)
def test_replay_of_a_recording_is_observed_as_recorded(
    conversation: list[tuple[Turn, ...]],
    record_rnd: random.Random,
    replay_rnd: random.Random,
    string_ids: bool,
    sequential: bool,
) -> None:
    """Each session's client sees the recorded frames in order, whatever the interleaving."""
    rec, expected = record(conversation, record_rnd)
    counter = itertools.count(100)
    new_id: Callable[[], Any] = (
        (lambda: f"live-{next(counter)}") if string_ids else counter.__next__
    )
    assert replay(rec, conversation, replay_rnd, new_id, sequential=sequential) == expected
