"""Deliberately fragile ACP clients, for ``acp-tap torture`` tests.

usage: fragile_client.py patient|strict CASSETTE -- AGENT...

Both send the client messages recorded in CASSETTE in order, each request once the answer
to the previous one has arrived, then close the agent's stdin and wait for it to exit.

- patient: waits for ever (no timeout anywhere), skips lines that are not JSON, passes the
  agent's stderr through: it hangs when the agent hangs.
- strict: gives each answer 3 s, but dies (SIGABRT) on a stdout line that is not JSON, and
  pipes the agent's stderr without ever reading it (a full pipe stalls the agent).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from typing import IO, Any

ANSWER_WAIT = 3.0


def read_message(stdout: IO[bytes], strict: bool) -> Any:
    """The next JSON message from the agent (None at end of output)."""
    while True:
        if strict and not select.select([stdout], [], [], ANSWER_WAIT)[0]:
            print("fragile client: no answer within 3 s, giving up", file=sys.stderr)
            raise SystemExit(2)
        line = stdout.readline()
        if not line:
            return None
        try:
            return json.loads(line)
        except ValueError:
            if strict:
                print(f"fragile client: cannot parse {line[:40]!r}", file=sys.stderr, flush=True)
                os.abort()


def main() -> int:
    mode, cassette, _, *agent = sys.argv[1:]
    strict = mode == "strict"
    with open(cassette) as f:
        records = [json.loads(line) for line in f]
    sent = [r["msg"] for r in records if r.get("dir") == "c2a" and "msg" in r]
    proc = subprocess.Popen(
        agent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if strict else None,
        bufsize=0,
    )
    assert proc.stdin is not None and proc.stdout is not None
    for message in sent:
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        if "method" not in message or "id" not in message:
            continue
        while True:
            got = read_message(proc.stdout, strict)
            if got is None:
                print("fragile client: the agent went away", file=sys.stderr)
                return 3
            if got.get("id") == message["id"] and "method" not in got:
                break
    proc.stdin.close()
    if strict:
        try:
            proc.wait(timeout=ANSWER_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


if __name__ == "__main__":
    raise SystemExit(main())
