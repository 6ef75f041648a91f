"""Where each fault kind is aimed in a recording, for ``acp-tap torture``. Pure.

The clean replay first; then each kind at its default target: the first ``session/update``
of the first prompt turn (``error``: the answer to the first ``session/prompt``); ``hang``
and ``crash`` also at session start (the answer to the first ``session/new`` or
``session/load``). Each scenario is a ``--fault`` spec, so a finding is reproduced with
``acp-tap replay --fault SPEC CASSETTE``.
"""

from __future__ import annotations

import attrs

from acp_tap.faults.spec import FaultKind
from acp_tap.replay.plan import AgentStep, Plan

PARAMETERS = {FaultKind.STDERR: "count=25000"}
"""Parameters other than the kind's defaults: stderr noise (1.25 MB) that fills a pipe's
buffer, even one widened to Linux's usual maximum (1 MiB), if the client never reads it."""

SESSION_STARTS = ("session/new", "session/load")


@attrs.frozen
class Scenario:
    """One run of the client: its name and the fault (None: the clean replay)."""

    name: str
    fault: str | None = None


def _spec(kind: FaultKind, selector: str) -> str:
    options = ",".join(part for part in (PARAMETERS.get(kind, ""), selector) if part)
    return f"{kind}:{options}" if options else str(kind)


def first_turn_update(plan: Plan) -> str | None:
    """The selector of the first session/update of the first prompt turn (None: no such)."""
    prompt = next((c for c in plan.client if c.method == "session/prompt"), None)
    if prompt is None:
        return None
    updates = 0
    for step in plan.agent:
        if step.stderr or step.method != "session/update":
            continue
        updates += 1
        if step.lane == prompt.lane:
            return f"method=session/update,nth={updates}"
    return None


def session_start(plan: Plan) -> str | None:
    """The selector of the answer to the first session/new or session/load."""
    for client in plan.client:
        if client.method in SESSION_STARTS and _answered(plan.agent, client.index):
            return f"method={client.method}"
    return None


def _answered(agent: tuple[AgentStep, ...], request: int) -> bool:
    return any(step.responds_to == request for step in agent)


def scenarios(plan: Plan) -> list[Scenario]:
    """The clean replay, then every kind at its default target (in the README's order)."""
    turn = first_turn_update(plan)
    prompted = any(c.method == "session/prompt" for c in plan.client)
    fallback = "method=session/prompt" if prompted else "nth=1"
    start = session_start(plan)
    out = [Scenario("clean")]
    for kind in FaultKind:
        if kind is FaultKind.ERROR:
            out.append(Scenario("error", _spec(kind, "method=session/prompt" if prompted else "")))
            continue
        if kind is FaultKind.FLOOD and turn is None:
            continue  # only a notification can be flooded
        out.append(Scenario(str(kind), _spec(kind, turn or fallback)))
        if kind in (FaultKind.HANG, FaultKind.CRASH) and start is not None:
            out.append(Scenario(f"{kind}@start", _spec(kind, start)))
    return out
