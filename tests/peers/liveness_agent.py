"""An agent that produces the situations replay liveness is about (raw NDJSON, no SDK).

    python tests/peers/liveness_agent.py [--kiro]

- ``session/new``: answers ``{"sessionId": "sess-N"}``, then sends
  ``_kiro.dev/commands/available`` on its own 0.3 s later (a client that prompts at once
  gets its prompt in first, as acpx did while recording kiro);
- ``session/set_mode``: sends a ``current_mode_update``, then answers;
- ``session/prompt`` by the prompt's text:
  ``hello``: two chunks, ``end_turn``; ``late hello``: the same after 0.6 s;
  ``permission``: asks ``session/request_permission``, then a chunk naming the chosen option;
  ``both``: asks permission and ``fs/read_text_file`` at once, waits for both answers, then a
  chunk naming the option and the file's content;
  ``wait``: a chunk, then nothing until ``session/cancel``, then ``cancelled``.
Agent requests get ids 0, 1, ... or, with ``--kiro``, string UUIDs (as kiro-cli does).
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import uuid
from typing import Any

KIRO = "--kiro" in sys.argv
_lock = threading.Lock()
_answers: dict[Any, queue.Queue[Any]] = {}
_counter = iter(range(1_000_000))
_cancelled: dict[str, threading.Event] = {}


def send(msg: dict[str, Any]) -> None:
    """Write one message (one line) to stdout."""
    line = json.dumps({"jsonrpc": "2.0", **msg}, separators=(",", ":")) + "\n"
    with _lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def update(session: str, kind: str, **fields: Any) -> None:
    """A session/update notification."""
    send(
        {
            "method": "session/update",
            "params": {"sessionId": session, "update": {"sessionUpdate": kind, **fields}},
        }
    )


def chunk(session: str, text: str) -> None:
    """An agent message chunk."""
    update(session, "agent_message_chunk", content={"type": "text", "text": text})


def ask(*requests: tuple[str, dict[str, Any]]) -> list[queue.Queue[Any]]:
    """Send agent requests in one write; each answer arrives on its queue."""
    queues, lines = [], []
    for method, params in requests:
        n = next(_counter)
        rid: Any = str(uuid.UUID(int=n + 1)) if KIRO else n
        queues.append(_answers.setdefault(json.dumps(rid), queue.Queue()))
        msg = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        lines.append(json.dumps(msg, separators=(",", ":")) + "\n")
    with _lock:
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
    return queues


def outcome(answer: Any) -> str:
    """The option a permission answer chose (or what went wrong)."""
    result = answer.get("result") or {}
    chosen = result.get("outcome") or {}
    return str(chosen.get("optionId") or chosen.get("outcome") or answer.get("error"))


def turn(rid: Any, session: str, text: str) -> None:
    """One prompt turn (in its own thread, so answers can arrive meanwhile)."""
    if text.startswith("late "):
        time.sleep(0.6)
        text = text[5:]
    if text == "hello":
        chunk(session, "Hello ")
        chunk(session, "there.")
    elif text == "permission":
        [answers] = ask(("session/request_permission", permission(session)))
        chunk(session, f"you chose {outcome(answers.get(timeout=30))}")
    elif text == "both":
        permit, read = ask(
            ("session/request_permission", permission(session)),
            ("fs/read_text_file", {"sessionId": session, "path": "/w/notes.txt"}),
        )
        chosen = outcome(permit.get(timeout=30))
        content = (read.get(timeout=30).get("result") or {}).get("content")
        chunk(session, f"you chose {chosen}; the notes say {content}")
    elif text == "wait":
        chunk(session, "working")
        _cancelled.setdefault(session, threading.Event()).wait(timeout=30)
        send({"id": rid, "result": {"stopReason": "cancelled"}})
        return
    send({"id": rid, "result": {"stopReason": "end_turn"}})


def permission(session: str) -> dict[str, Any]:
    """The params of a permission request."""
    return {
        "sessionId": session,
        "toolCall": {"toolCallId": "call-1", "title": "Edit notes.txt", "kind": "edit"},
        "options": [
            {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
            {"optionId": "reject", "name": "Reject", "kind": "reject_once"},
        ],
    }


def announce(session: str) -> None:
    """kiro's command list, sent on its own a little after the session is answered."""
    time.sleep(0.3)
    commands = [{"name": "/help", "description": "Show the commands"}]
    send(
        {
            "method": "_kiro.dev/commands/available",
            "params": {"sessionId": session, "commands": commands},
        }
    )


def main() -> int:
    """Serve until stdin closes."""
    sessions = 0
    threads: list[threading.Thread] = []
    for line in sys.stdin:
        msg = json.loads(line)
        method, rid, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
        if method is None:  # an answer to one of our requests
            _answers.setdefault(json.dumps(rid), queue.Queue()).put(msg)
        elif method == "initialize":
            send({"id": rid, "result": {"protocolVersion": 1, "agentCapabilities": {}}})
        elif method == "session/new":
            sessions += 1
            session = f"sess-{sessions}"
            send({"id": rid, "result": {"sessionId": session}})
            threads.append(threading.Thread(target=announce, args=(session,)))
            threads[-1].start()
        elif method == "session/set_mode":
            update(params["sessionId"], "current_mode_update", currentModeId=params["modeId"])
            send({"id": rid, "result": {}})
        elif method == "session/cancel":
            _cancelled.setdefault(params["sessionId"], threading.Event()).set()
        elif method == "session/prompt":
            text = params["prompt"][0]["text"]
            threads.append(threading.Thread(target=turn, args=(rid, params["sessionId"], text)))
            threads[-1].start()
        elif rid is not None:
            send({"id": rid, "error": {"code": -32601, "message": f"no method {method}"}})
    for thread in threads:
        thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
