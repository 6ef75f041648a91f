"""A raw NDJSON client that follows a script against any agent command.

    python tests/peers/script_client.py SCRIPT.json -- AGENT ARGV...

SCRIPT is a JSON list of steps, run in order:

- ``{"send": MESSAGE}``: write MESSAGE as one line;
- ``{"await": ID}``: wait for the response to the request with that id;
- ``{"await_method": METHOD}``: wait for a message from the agent with that method (a
  later ``answer`` step may still answer it);
- ``{"answer": METHOD, "result": RESULT}``: wait for an agent request of METHOD and answer it;
- ``{"sleep": SECONDS}``.

Each wait gives up after 10 s (``--wait``). At the end (or at the first wait that gives
up) the client closes the agent's stdin, reads the rest of its output, and prints one
JSON object: ``{"received": [...every message...], "timeout": null or the step that gave
up, "status": the agent's exit status}``. Exit status 0, or 3 if a wait gave up.
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import threading
import time
from typing import Any


def reader(stream: Any, into: queue.Queue[Any]) -> None:
    """Put each line the agent writes (decoded, or as text) on ``into``; None at the end."""
    for line in stream:
        try:
            into.put(json.loads(line))
        except ValueError:
            into.put(line.decode("utf-8", "replace"))
    into.put(None)


def wanted(step: dict[str, Any], msg: Any) -> bool:
    """Whether ``msg`` is what ``step`` waits for."""
    if not isinstance(msg, dict):
        return False
    if "await" in step:
        return "method" not in msg and msg.get("id") == step["await"]
    if "await_method" in step:
        return bool(msg.get("method") == step["await_method"])
    return bool(msg.get("method") == step["answer"] and "id" in msg)


def main() -> int:
    """Run the script; print what was received."""
    parser = argparse.ArgumentParser()
    parser.add_argument("script")
    parser.add_argument("--wait", type=float, default=10.0)
    parser.add_argument("agent", nargs="+")
    args = parser.parse_args()
    with open(args.script) as f:
        steps = json.load(f)
    proc = subprocess.Popen(args.agent, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=reader, args=(proc.stdout, lines), daemon=True).start()
    received: list[Any] = []
    unseen: list[Any] = []  # received, not yet looked at by a wait
    gave_up = None
    for step in steps:
        if "send" in step:
            proc.stdin.write(json.dumps(step["send"]).encode() + b"\n")
            proc.stdin.flush()
            continue
        if "sleep" in step:
            time.sleep(step["sleep"])
            continue
        deadline = time.monotonic() + args.wait
        found = next((m for m in unseen if wanted(step, m)), None)
        while found is None:
            try:
                msg = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg is None:  # end of the agent's output
                lines.put(None)
                break
            received.append(msg)
            unseen.append(msg)
            if wanted(step, msg):
                found = msg
        if found is None:
            gave_up = step
            break
        if "await_method" not in step:  # a notification or request awaited may be answered later
            unseen.remove(found)
        if "answer" in step:
            answer = {"jsonrpc": "2.0", "id": found["id"], "result": step["result"]}
            proc.stdin.write(json.dumps(answer).encode() + b"\n")
            proc.stdin.flush()
    proc.stdin.close()
    while (msg := lines.get(timeout=30)) is not None:
        received.append(msg)
    status = proc.wait(timeout=30)
    json.dump({"received": received, "timeout": gave_up, "status": status}, sys.stdout)
    sys.stdout.flush()
    return 3 if gave_up is not None else 0


if __name__ == "__main__":
    raise SystemExit(main())
