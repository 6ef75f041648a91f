"""An ACP agent whose every string is hostile to a viewer: markup, scripts, URLs, escapes.

    python tests/peers/hostile_agent.py

It speaks correct ACP (initialize, session/new, session/prompt with chunks, a tool call,
a permission request, a plan, an extension notification) but fills every text a viewer
shows with things that must stay text: ``</script>`` and ``<img onerror>`` payloads that
would set ``window.__acpTapPwned``, ``javascript:`` and ``https:`` URLs, CSS ``url()`` and
``@import``, HTML comments, terminal escapes, NUL, U+2028/2029 and a bidi override, and
hostile lines on stderr (raw escapes included). A prompt containing "fail" is answered
with an error whose message is markup. It breaks no protocol rule, so ``acp-tap check``
passes it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

PWN = "window.__acpTapPwned"
SCRIPT_END = f"</script><img src=x onerror=\"{PWN}='chunk'\"><script>{PWN}='script'</script>"
URLS = "javascript:alert(document.domain) https://example.invalid/track.png file:///etc/passwd //example.invalid/x"
STYLE = "</style><style>@import url(https://example.invalid/x.css); body{background:url(//example.invalid/y.png)}</style>"
ODD = "line\u2028separator\u2029paragraph \u202eevil\u202c NUL\u0000 <!-- comment --> ]]> {{template}} &amp; &lt;"
TERMINAL = (
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]8;;https://example.invalid\x07hyperlink\x1b]8;;\x07 bell\x07"
)


def send(message: dict[str, Any]) -> None:
    """One JSON-RPC message on stdout."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def update(session: str, body: dict[str, Any]) -> None:
    """A session/update notification."""
    send(
        {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {"sessionId": session, "update": body},
        }
    )


def text(kind: str, session: str, value: str) -> None:
    """A chunk of agent (or thought) text."""
    update(session, {"sessionUpdate": kind, "content": {"type": "text", "text": value}})


def read() -> dict[str, Any] | None:
    """The next message from the client (None at EOF)."""
    line = sys.stdin.readline()
    return json.loads(line) if line else None


def turn(request_id: Any, session: str, prompt: str) -> None:
    """One prompt turn full of hostile text."""
    if "fail" in prompt:
        error = {"code": -32603, "message": f"<img src=x onerror=\"{PWN}='error'\"> {URLS}"}
        send({"jsonrpc": "2.0", "id": request_id, "error": error})
        return
    sys.stderr.write(f"WARN {TERMINAL} {SCRIPT_END} {STYLE}\n")
    sys.stderr.flush()
    text("agent_thought_chunk", session, f"<b>thinking</b> {ODD}")
    text("agent_message_chunk", session, SCRIPT_END)
    text("agent_message_chunk", session, f" Visit {URLS}. {STYLE} {ODD} {TERMINAL}")
    link = {
        "type": "resource_link",
        "uri": "javascript:alert(1)",
        "name": f"<a href=\"javascript:{PWN}='link'\">x</a>",
    }
    update(session, {"sessionUpdate": "agent_message_chunk", "content": link})
    tool_id = "<tool id='1'>"
    update(
        session,
        {
            "sessionUpdate": "tool_call",
            "toolCallId": tool_id,
            "title": f"<img src=x onerror=\"{PWN}='tool'\"> {URLS}",
            "kind": "edit",
            "status": "pending",
        },
    )
    options = [
        {
            "optionId": 'allow"><script>',
            "name": f"<button onclick=\"{PWN}='option'\">Allow</button>",
            "kind": "allow_once",
        },
        {"optionId": "reject", "name": f"Reject {TERMINAL}", "kind": "reject_once"},
    ]
    asked = '"><svg onload=alert(1)>'
    tool = {"toolCallId": tool_id, "title": SCRIPT_END}
    send(
        {
            "jsonrpc": "2.0",
            "id": asked,
            "method": "session/request_permission",
            "params": {"sessionId": session, "toolCall": tool, "options": options},
        }
    )
    while (message := read()) is not None and message.get("id") != asked:
        pass
    update(
        session,
        {
            "sessionUpdate": "tool_call_update",
            "toolCallId": tool_id,
            "status": "completed",
            "content": [{"type": "content", "content": {"type": "text", "text": SCRIPT_END}}],
        },
    )
    update(
        session,
        {
            "sessionUpdate": "plan",
            "entries": [
                {
                    "content": f"<iframe src=\"javascript:{PWN}='plan'\"></iframe>",
                    "priority": "high",
                    "status": "pending",
                }
            ],
        },
    )
    send(
        {
            "jsonrpc": "2.0",
            "method": f"_<svg/onload={PWN}='method'>",
            "params": {"sessionId": session, "x": STYLE},
        }
    )
    send({"jsonrpc": "2.0", "id": request_id, "result": {"stopReason": "end_turn"}})


def main() -> None:
    """Answer the client until it closes stdin."""
    session = f's"><svg onload="{PWN}=\'session\'">'
    while (message := read()) is not None:
        method, request_id = message.get("method"), message.get("id")
        if method == "initialize":
            info = {"name": f"<script>{PWN}='agent'</script>", "version": SCRIPT_END}
            send(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "result": {"protocolVersion": 1, "agentInfo": info},
                }
            )
        elif method == "session/new":
            send({"jsonrpc": "2.0", "id": request_id, "result": {"sessionId": session}})
        elif method == "session/prompt":
            blocks = message["params"].get("prompt", [])
            turn(request_id, session, " ".join(b.get("text", "") for b in blocks))
        elif request_id is not None and method is not None:
            error = {"code": -32601, "message": f"<i>{method}</i> not found"}
            send({"jsonrpc": "2.0", "id": request_id, "error": error})


if __name__ == "__main__":
    main()
