"""The default places of secrets in ACP messages, by method. Pure; no I/O.

- ``params.mcpServers[*].env`` and ``params.mcpServers[*].headers`` values, in the ACP
  list form ``[{"name", "value"}]`` and the dict form ``{"NAME": "value"}``, for every
  method except the bulk ones in :data:`BULK_METHODS` (whose schema has no ``mcpServers``);
- ``params.env`` values of ``terminal/create``;
- every ``params`` member of ``authenticate`` except ``methodId`` and ``_meta`` (both
  needed to replay);
- the whole ``result`` of a client's response to an agent->client request whose method
  looks like a credential exchange (see :func:`is_secret_method`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from acp_tap.cassette.model import Direction

Path = tuple[str | int, ...]
"""A position inside a JSON value: object keys and array indexes from the root."""

_AUTH_KEPT = frozenset({"methodId", "_meta"})
_SECRET_WORDS = ("auth", "token", "credential", "secret", "password")
BULK_METHODS = frozenset(
    {
        "session/update",
        "session/prompt",
        "session/request_permission",
        "fs/read_text_file",
        "fs/write_text_file",
        "terminal/output",
    }
)
"""Methods whose params carry no default secret place (ACP schema) and can be huge."""


def is_secret_method(method: str) -> bool:
    """Whether a method name looks like a credential exchange (e.g. ``_kiro.dev/auth/token``)."""
    folded = method.casefold()
    return any(word in folded for word in _SECRET_WORDS)


def members(value: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(value, dict):
        return iter(value.items())
    if isinstance(value, list):
        return enumerate(value)
    return iter(())


def _env_values(env: Any, path: Path) -> Iterator[Path]:
    """Paths of the secret values in an env/headers container, whatever its form."""
    if isinstance(env, dict):  # {"NAME": "value"}
        yield from ((*path, name) for name in env)
    elif isinstance(env, list):
        for index, item in enumerate(env):
            if not isinstance(item, dict):  # "NAME=value" or anything else: all of it
                yield (*path, index)
            elif "value" in item:  # ACP's {"name": ..., "value": ...}
                yield (*path, index, "value")


def default_targets(direction: Direction, msg: Any, answers: str | None) -> set[Path]:
    """The default places holding a secret in ``msg`` (see the module docstring)."""
    targets: set[Path] = set()
    if not isinstance(msg, dict):
        return targets
    if (
        answers is not None
        and direction is Direction.CLIENT_TO_AGENT
        and "result" in msg
        and "method" not in msg
        and is_secret_method(answers)
    ):
        targets.add(("result",))
    method = msg.get("method")
    if not isinstance(method, str) or method in BULK_METHODS:
        return targets
    params = msg.get("params")
    if method == "authenticate":
        if isinstance(params, dict):
            targets.update(("params", key) for key in params if key not in _AUTH_KEPT)
        elif params is not None:
            targets.add(("params",))
    if not isinstance(params, dict):
        return targets
    if method == "terminal/create":
        targets.update(_env_values(params.get("env"), ("params", "env")))
    for name, server in members(params.get("mcpServers")):
        if isinstance(server, dict):
            for field in ("env", "headers"):
                where = ("params", "mcpServers", name, field)
                targets.update(_env_values(server.get(field), where))
    return targets
