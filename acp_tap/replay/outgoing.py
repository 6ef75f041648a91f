"""What the client is sent for a recorded agent frame: the live ids, the live directories. Pure.

Everything else keeps the recorded bytes: a response gets the id the client's request was
sent with (its JSON type too), the agent's ``$/cancel_request`` names the live id of the
request it cancels, and recorded working directories become the live ones.
"""

from __future__ import annotations

from acp_tap.cassette.codec import dumps_compact
from acp_tap.matching.ids import with_id
from acp_tap.matching.relocation import Relocation
from acp_tap.replay.plan import AgentStep, Plan


def response_bytes(step: AgentStep, live_id: object, relocation: Relocation) -> bytes:
    """The recorded response with the live request's id (its bytes kept when they agree)."""
    recorded = step.recorded_id
    if type(recorded) is type(live_id) and recorded == live_id:
        wire = step.wire
    else:
        wire = with_id(step.raw, live_id) + step.eol.bytes
    return relocation.to_live(wire) if relocation else wire


def live_cancel(step: AgentStep, live_id: object) -> bytes:
    """The agent's ``$/cancel_request`` naming ``live_id``, the request it cancels."""
    msg = step.frame.message()
    recorded = msg["params"].get("requestId")
    if type(live_id) is type(recorded) and live_id == recorded:
        return step.wire
    params = dict(msg["params"], requestId=live_id)
    return dumps_compact(dict(msg, params=params)) + step.eol.bytes


def alone(plan: Plan, response: AgentStep) -> list[AgentStep]:
    """The notifications that the request ``response`` answers alone released in the
    recording, before it: what a repeat of that request is sent again."""
    request = response.responds_to
    assert request is not None
    return [
        step
        for step in (plan.agent[n] for n in plan.lanes[response.lane])
        if step.seq < response.seq
        and step.deps == (request,)
        and step.request_id is None
        and step.responds_to is None
    ]
