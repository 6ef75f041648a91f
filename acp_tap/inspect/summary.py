"""Short human summaries of ACP messages, by method and update kind, for the timeline. Pure."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from acp_tap.cassette.model import Footer, Header, Injection
from acp_tap.inspect import acp

PREVIEW = 120
"""Characters of JSON shown for messages without a dedicated summary."""

Summary = tuple[str, dict[str, Any]]
"""The text shown, and structured details for ``--json``."""


def preview(value: Any) -> str:
    """Compact JSON, cut to ``PREVIEW`` characters."""
    if value is None:
        return ""
    return shorten(json.dumps(value, ensure_ascii=False, separators=(",", ":")), PREVIEW)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(message: Mapping[str, Any]) -> str:
    """A JSON-RPC error response as ``error CODE: message data``."""
    error = message.get("error")
    if not isinstance(error, dict):
        return preview(error)
    data = f" {preview(error['data'])}" if error.get("data") is not None else ""
    return f"error {error.get('code')}: {error.get('message')}{data}"


def header_text(header: Header) -> str:
    """What was recorded, where and when."""
    argv = " ".join(header.argv)
    text = f"{argv}  (cwd {header.cwd}, started {header.started}, acp-tap {header.acp_tap})"
    faults = "".join(f"\nfault {n}: {spec}" for n, spec in enumerate(header.faults, start=1))
    return text + faults


def injection_text(record: Injection) -> str:
    """What the other side got instead of the frame a fault hit."""
    d = record.detail
    texts: dict[str, Callable[[], str]] = {
        "delay": lambda: f"held {d.get('hold', 0) * 1000:.0f} ms",
        "slice": lambda: f"sent in {d.get('pieces')} pieces of {d.get('bytes')} bytes",
        "hang": lambda: "nothing more sent from here on; the output stays open",
        "crash": lambda: f"the client saw the agent exit with status {d.get('status')}",
        "close": lambda: "the client's stdout closed here",
        "drop": lambda: "not sent",
        "duplicate": lambda: f"sent {d.get('copies')} times",
        "flood": lambda: f"sent {d.get('copies')} times",
        "garbage": lambda: f"a line that is not JSON sent before it: {d.get('line')!r}",
        "corrupt": lambda: f"only its first {d.get('cut')} bytes sent, then a newline",
        "error": lambda: f"answered with {error_text(d)}",
        "stderr": lambda: f"{d.get('lines')} lines of noise on stderr",
    }
    what = texts.get(record.kind)
    told = what() if what is not None else preview(d)
    return f"fault {record.fault} ({record.kind}) on frame #{record.on}: {told}"


def footer_text(footer: Footer) -> str:
    """How the recording ended."""
    if footer.signal is not None:
        how = f"killed by signal {footer.signal}"
    else:
        how = f"exit code {footer.exit_code}"
    frames = " ".join(f"{d}={n}" for d, n in footer.frames.items())
    dropped = f", {footer.dropped} frames dropped" if footer.dropped else ""
    return (
        f"status {footer.status} ({how}), {footer.closed_first} closed first, "
        f"{footer.t:.3f}s, frames {frames}{dropped}"
    )


def _initialize(params: Mapping[str, Any]) -> Summary:
    caps = params.get("clientCapabilities")
    fs = caps.get("fs") if isinstance(caps, dict) else None
    flags = [
        "fs.read" if isinstance(fs, dict) and fs.get("readTextFile") else "",
        "fs.write" if isinstance(fs, dict) and fs.get("writeTextFile") else "",
        "terminal" if isinstance(caps, dict) and caps.get("terminal") else "",
    ]
    info = params.get("clientInfo")
    who = f"{info.get('name')} {info.get('version', '')}".strip() if isinstance(info, dict) else ""
    text = acp.join_nonempty([who, f"protocol v{params.get('protocolVersion')}", *flags])
    return text, {}


def _prompt(params: Mapping[str, Any]) -> Summary:
    return acp.blocks_text(params.get("prompt")), {}


def _session_new(params: Mapping[str, Any]) -> Summary:
    servers = params.get("mcpServers")
    count = f"{len(servers)} MCP servers" if isinstance(servers, list) and servers else ""
    return acp.join_nonempty([f"cwd {params.get('cwd')}", count]), {}


def _permission(params: Mapping[str, Any]) -> Summary:
    tool = params.get("toolCall")
    tool = tool if isinstance(tool, dict) else {}
    options = {
        str(o.get("optionId")): str(o.get("name", o.get("optionId")))
        for o in params.get("options", ())
        if isinstance(o, dict)
    }
    label = tool.get("title") or tool.get("toolCallId") or "?"
    shown = " | ".join(f"{name} [{oid}]" for oid, name in options.items())
    return f"{label}: {shown}", {"toolCallId": tool.get("toolCallId"), "options": options}


def _path(params: Mapping[str, Any]) -> Summary:
    content = params.get("content")
    size = f" ({acp.human_size(len(content.encode()))})" if isinstance(content, str) else ""
    return f"{params.get('path')}{size}", {}


def _terminal(params: Mapping[str, Any]) -> Summary:
    argv = [str(params.get("command", "?")), *map(str, params.get("args") or ())]
    return " ".join(argv), {}


def _field(name: str) -> Callable[[Mapping[str, Any]], Summary]:
    return lambda params: (f"{name} {params.get(name)}", {})


CALLS: dict[str, Callable[[Mapping[str, Any]], Summary]] = {
    "initialize": _initialize,
    "session/new": _session_new,
    "session/load": _field("sessionId"),
    "session/resume": _field("sessionId"),
    "session/prompt": _prompt,
    "session/cancel": lambda params: ("cancel the turn", {}),
    "session/set_mode": _field("modeId"),
    "session/set_model": _field("modelId"),
    "session/request_permission": _permission,
    "authenticate": _field("methodId"),
    "fs/read_text_file": _path,
    "fs/write_text_file": _path,
    "terminal/create": _terminal,
}


def _initialized(result: Any, options: Mapping[str, str]) -> Summary:
    if not isinstance(result, dict):
        return preview(result), {}
    info = result.get("agentInfo")
    who = f"{info.get('name')} {info.get('version', '')}".strip() if isinstance(info, dict) else ""
    caps = result.get("agentCapabilities")
    flags = ["loadSession" if isinstance(caps, dict) and caps.get("loadSession") else ""]
    return acp.join_nonempty([who, f"protocol v{result.get('protocolVersion')}", *flags]), {}


def _prompt_done(result: Any, options: Mapping[str, str]) -> Summary:
    reason = result.get("stopReason") if isinstance(result, dict) else None
    return f"stopReason {reason}", {"stopReason": reason}


def _session_made(result: Any, options: Mapping[str, str]) -> Summary:
    return f"session {acp.session_of(result)}", {}


def _permission_done(result: Any, options: Mapping[str, str]) -> Summary:
    outcome = result.get("outcome") if isinstance(result, dict) else None
    outcome = outcome if isinstance(outcome, dict) else {}
    if outcome.get("outcome") == "selected":
        option = str(outcome.get("optionId"))
        name = options.get(option)
        text = f"selected {name} [{option}]" if name else f"selected [{option}]"
        return text, {"outcome": "selected", "optionId": option}
    return str(outcome.get("outcome")), {"outcome": outcome.get("outcome")}


def _file_read(result: Any, options: Mapping[str, str]) -> Summary:
    content = result.get("content") if isinstance(result, dict) else None
    if not isinstance(content, str):
        return preview(result), {}
    return f"{content.count(chr(10)) + 1} lines, {acp.human_size(len(content.encode()))}", {}


RESULTS: dict[str, Callable[[Any, Mapping[str, str]], Summary]] = {
    # a result and, for permission requests, the options asked: optionId -> name
    "initialize": _initialized,
    "session/new": _session_made,
    "session/prompt": _prompt_done,
    "session/request_permission": _permission_done,
    "fs/read_text_file": _file_read,
}


def _plan(update: Mapping[str, Any]) -> Summary:
    marks = {"completed": "[x]", "in_progress": "[~]"}
    entries = [e for e in update.get("entries", ()) if isinstance(e, dict)]
    lines = [f"{marks.get(e.get('status', ''), '[ ]')} {e.get('content')}" for e in entries]
    return "\n".join(lines) or "(empty plan)", {}


def _commands(update: Mapping[str, Any]) -> Summary:
    names = [c.get("name") for c in update.get("availableCommands", ()) if isinstance(c, dict)]
    return shorten(", ".join(f"/{n}" for n in names), PREVIEW), {}


UPDATES: dict[str, Callable[[Mapping[str, Any]], Summary]] = {
    "plan": _plan,
    "available_commands_update": _commands,
    "current_mode_update": lambda u: (f"mode {u.get('currentModeId')}", {}),
}
