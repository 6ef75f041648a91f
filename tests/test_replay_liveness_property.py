"""Properties of replay liveness, on conversations recorded under random schedules.

A scripted agent and client hold sessions with prompt turns (updates, permission
requests, file reads, cancels), set_mode requests (a mode update, then the answer) and
the agent's own announcement after session/new (which races the first prompt).

(a) A replay client that sends each message only once it has received what the
    recording shows it had received before sending it, with sessions interleaved in any
    order, sees exactly the recording: the same frames, each activity's in recorded order.
(b) For any order and omission of the client's messages (agent requests always
    answered), every client request gets a response or a -32099 error, exactly once, by
    the stall timeout after the client's last message.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import dumps_compact
from acp_tap.replay.actions import Action, Exit, Mismatch, ReplayOptions, Send
from acp_tap.replay.engine import ReplayEngine
from tests.replay_support import Recording, notification, request, result

Json = dict[str, Any]
INIT = request(0, "initialize", {"protocolVersion": 1})

events = st.lists(st.sampled_from(["update", "permission", "read"]), max_size=4).map(tuple)
activities = st.lists(
    st.tuples(st.just("prompt"), events, st.none() | st.integers(1, 2))
    | st.tuples(st.just("mode"), st.just(()), st.none()),
    max_size=3,
).map(tuple)
conversations = st.lists(activities, min_size=1, max_size=3)


def tag(msg: Json) -> str | None:
    """The activity tag an agent frame carries (None for responses and announcements)."""
    params = msg.get("params") or {}
    update = params.get("update") or {}
    text = (update.get("content") or {}).get("text") or update.get("currentModeId")
    return text.split(":")[0] if text else params.get("tag")


@attrs.define
class Agent:
    """The recorded agent's side of one session."""

    k: int
    ids: Any
    ready: list[Json] = attrs.field(factory=list)
    announce: list[Json] = attrs.field(factory=list)
    turn: list[Json] = attrs.field(factory=list)  # what the open turn still has to say
    prompt_id: Any = None
    blocked: bool = False

    @property
    def sid(self) -> str:
        """This session's id."""
        return f"s{self.k}"

    def receive(self, msg: Json, script: tuple[Any, ...]) -> None:
        """A client message for this session; ``script`` is the activity it starts."""
        method = msg.get("method")
        if method == "session/new":
            self.ready.append(result(msg["id"], {"sessionId": self.sid}))
            commands = {"sessionUpdate": "available_commands_update", "availableCommands": []}
            params = {"sessionId": self.sid, "update": commands}
            self.announce.append(notification("session/update", params))
        elif method == "session/set_mode":
            mode = msg["params"]["modeId"]
            update = {"sessionUpdate": "current_mode_update", "currentModeId": mode}
            self.ready.append(
                notification("session/update", {"sessionId": self.sid, "update": update})
            )
            self.ready.append(result(msg["id"], {}))
        elif method == "session/prompt":
            self.prompt_id = msg["id"]
            name = msg["params"]["prompt"][0]["text"]
            self.turn = [self.frame(name, n, kind) for n, kind in enumerate(script)]
        elif method == "session/cancel":
            self.turn = [f for f in self.turn if "id" in f and "method" not in f]
        else:  # an answer
            self.blocked = False

    def frame(self, name: str, n: int, kind: str) -> Json:
        """The n-th thing a turn says."""
        if kind == "update":
            text = {"type": "text", "text": f"{name}:{n}"}
            update = {"sessionUpdate": "agent_message_chunk", "content": text}
            return notification("session/update", {"sessionId": self.sid, "update": update})
        method = "session/request_permission" if kind == "permission" else "fs/read_text_file"
        return request(next(self.ids), method, {"sessionId": self.sid, "tag": name, "n": n})

    def can_emit(self) -> bool:
        """Whether the agent has something to write now."""
        return bool(self.ready) or (self.prompt_id is not None and not self.blocked)

    def emit(self) -> Json:
        """The next frame."""
        if self.ready:
            return self.ready.pop(0)
        if not self.turn:
            msg = result(self.prompt_id, {"stopReason": "end_turn"})
            self.prompt_id = None
            return msg
        msg = self.turn.pop(0)
        if "id" in msg:
            self.blocked = True
        return msg


@attrs.define
class Client:
    """The recording client's side of one session: one activity at a time."""

    k: int
    plan: tuple[Any, ...]
    ids: Any
    outbox: list[Json] = attrs.field(factory=list)
    step: int = -1
    waiting: Any = None
    updates: int = 0
    cancelled: bool = False

    def begin(self) -> None:
        """Ask for the session."""
        self.waiting = next(self.ids)
        self.outbox.append(request(self.waiting, "session/new", {"cwd": f"/w/{self.k}"}))

    def observe(self, msg: Json) -> None:
        """An agent frame of this session."""
        if "method" not in msg:
            if msg["id"] == self.waiting:
                self.next()
            return
        if "id" in msg:
            answer: Json = {"outcome": {"outcome": "selected", "optionId": "allow"}}
            if msg["method"] == "fs/read_text_file":
                answer = {"content": f"file {msg['params']['n']}"}
            self.outbox.append(result(msg["id"], answer))
        elif tag(msg) and self.step < len(self.plan):
            self.updates += 1
            cancel_after = self.plan[self.step][2]
            if cancel_after == self.updates and not self.cancelled:
                self.cancelled = True
                self.outbox.append(notification("session/cancel", {"sessionId": f"s{self.k}"}))

    def next(self) -> None:
        """Start the next activity, if any."""
        self.step += 1
        self.updates, self.cancelled = 0, False
        if self.step >= len(self.plan):
            self.waiting = None
            return
        kind = self.plan[self.step][0]
        self.waiting = next(self.ids)
        name = f"a{self.k}.{self.step}"
        if kind == "prompt":
            params = {"sessionId": f"s{self.k}", "prompt": [{"type": "text", "text": name}]}
            self.outbox.append(request(self.waiting, "session/prompt", params))
        else:
            params = {"sessionId": f"s{self.k}", "modeId": name}
            self.outbox.append(request(self.waiting, "session/set_mode", params))


def record(conversation: list[tuple[Any, ...]], rnd: random.Random) -> Recording:
    """Hold the conversation under a random schedule."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(result(0, {"protocolVersion": 1}))
    client_ids, agent_ids = itertools.count(1), itertools.count(100)
    clients = [Client(k, plan, client_ids) for k, plan in enumerate(conversation)]
    agents = [Agent(k, agent_ids) for k in range(len(conversation))]
    for client in clients:
        client.begin()
    while True:
        moves = [("c", c.k) for c in clients if c.outbox]
        moves += [("a", a.k) for a in agents if a.can_emit()]
        moves += [("n", a.k) for a in agents if a.announce]
        if not moves:
            return rec
        side, k = rnd.choice(moves)
        if side == "c":
            msg = clients[k].outbox.pop(0)
            rec.c2a(msg)
            client = clients[k]
            script = client.plan[client.step][1] if 0 <= client.step < len(client.plan) else ()
            agents[k].receive(msg, script)
        else:
            msg = agents[k].announce.pop(0) if side == "n" else agents[k].emit()
            rec.a2c(msg)
            clients[k].observe(msg)


def without_id(msg: Json) -> str:
    """A frame as compared: a response without its (live) id."""
    return json.dumps(
        {k: v for k, v in msg.items() if not ("method" not in msg and k == "id")}, sort_keys=True
    )


def drive(engine: ReplayEngine, now: float, line: bytes) -> list[Action]:
    """Feed one line; no mismatch may happen."""
    actions = engine.receive(line, now)
    for action in actions:
        assert not isinstance(action, Mismatch), action.report.render()
    return actions


def sent_lines(actions: list[Action]) -> list[Json]:
    """The messages in ``actions``."""
    return [json.loads(raw) for a in actions if isinstance(a, Send) for raw in a.data.splitlines()]


def sessions_of(frames: list[tuple[str, Json]]) -> list[int | None]:
    """The session each recorded frame belongs to (None: initialize and its answer)."""
    owner: dict[tuple[str, Any], int] = {}  # (who asked, id) -> session
    out: list[int | None] = []
    for direction, msg in frames:
        params = msg.get("params") or {}
        if "sessionId" in params:
            k: int | None = int(params["sessionId"][1:])
        elif msg.get("method") == "session/new":
            k = int(params["cwd"].split("/")[-1])
        elif "method" not in msg:  # a response: to the other side's request
            k = owner.get(("a2c" if direction == "c2a" else "c2a", msg["id"]))
        else:
            k = None
        if "method" in msg and "id" in msg and k is not None:
            owner[(direction, msg["id"])] = k
        out.append(k)
    return out


@settings(max_examples=200, deadline=None)
@given(conversations, st.randoms(use_true_random=False), st.randoms(use_true_random=False))
def test_a_causal_client_sees_exactly_the_recording(
    conversation: list[tuple[Any, ...]], record_rnd: random.Random, replay_rnd: random.Random
) -> None:
    """(a) Each session gets the recorded frames; each activity's in recorded order."""
    rec = record(conversation, record_rnd)
    frames = [(f.dir.value, f.message()) for f in rec.frames]
    script: dict[int, list[tuple[Json, Counter[str]]]] = {}
    expected: dict[int, list[Json]] = {}
    for (direction, msg), k in zip(frames, sessions_of(frames), strict=True):
        if k is None:
            continue
        if direction == "a2c":
            expected.setdefault(k, []).append(msg)
        else:
            seen = Counter(without_id(m) for m in expected.get(k, []))
            script.setdefault(k, []).append((msg, seen))
    engine = ReplayEngine.from_cassette(rec.cassette(), ReplayOptions())
    engine.start(0.0)
    now, live_ids = 0.0, itertools.count(1000)
    drive(engine, now, dumps_compact(dict(INIT, id="init")))
    received: dict[int, list[Json]] = {k: [] for k in script}
    recorded_id: dict[Any, tuple[Any, int]] = {}  # live id -> (recorded id, session)
    while True:
        ready = [
            k
            for k, todo in script.items()
            if todo and Counter(without_id(m) for m in received[k]) >= todo[0][1]
        ]
        if not ready:
            break
        k = replay_rnd.choice(ready)
        msg, _ = script[k].pop(0)
        if "method" in msg and "id" in msg:
            live = next(live_ids)
            recorded_id[live] = (msg["id"], k)
            msg = dict(msg, id=live)
        now += 0.01
        for out in sent_lines(drive(engine, now, dumps_compact(msg))):
            if "method" in out:
                received[int(out["params"]["sessionId"][1:])].append(out)
            else:
                original, owner = recorded_id[out["id"]]
                received[owner].append(dict(out, id=original))
    assert all(not todo for todo in script.values()), "a client waited for frames never sent"
    assert engine.close(now + 0.01) == [Exit(0)]
    for k, got in received.items():
        want = expected.get(k, [])
        assert sorted(map(without_id, got)) == sorted(map(without_id, want))
        for name in {tag(m) for m in want} - {None}:
            assert [m for m in got if tag(m) == name] == [m for m in want if tag(m) == name]


@settings(max_examples=200, deadline=None)
@given(
    conversations,
    st.randoms(use_true_random=False),
    st.randoms(use_true_random=False),
    st.floats(0.0, 0.6),
)
def test_every_request_is_answered_within_the_stall_timeout(
    conversation: list[tuple[Any, ...]],
    record_rnd: random.Random,
    replay_rnd: random.Random,
    drop: float,
) -> None:
    """(b) Any order, any omissions: every request gets one answer or -32099, in time."""
    rec = record(conversation, record_rnd)
    messages = [f.message() for f in rec.frames if f.dir.value == "c2a"]
    answers = {m["id"]: m for m in messages if "method" not in m}
    sendable = [m for m in messages if "method" in m and replay_rnd.random() >= drop]
    replay_rnd.shuffle(sendable)
    engine = ReplayEngine.from_cassette(rec.cassette(), ReplayOptions(stall_timeout=1.0))
    engine.start(0.0)
    now, live_ids = 0.0, itertools.count(1000)
    asked: set[Any] = set()
    answered: Counter[Any] = Counter()

    def carry_out(actions: list[Action]) -> None:
        for out in sent_lines(actions):
            if "method" not in out:
                answered[out["id"]] += 1
            elif "id" in out:  # an agent request: always answered at once
                reply = answers.get(out["id"]) or result(out["id"], {})
                pending.append(reply)

    pending: list[Json] = []
    for recorded in sendable:
        msg = recorded
        if "id" in recorded:
            msg = dict(recorded, id=next(live_ids))
            asked.add(msg["id"])
        now += 0.01
        carry_out(engine.receive(dumps_compact(msg), now))
        while pending:
            now += 0.01
            carry_out(engine.receive(dumps_compact(pending.pop(0)), now))
    deadline = now + 1.0
    while not engine.done and (due := engine.next_deadline()) is not None and due <= deadline:
        carry_out(engine.poll(due))
        while pending:
            now = max(now, due) + 0.01
            deadline = now + 1.0
            carry_out(engine.receive(dumps_compact(pending.pop(0)), now))
    assert set(answered) >= asked, f"unanswered: {asked - set(answered)}"
    assert all(n == 1 for n in answered.values()), answered
