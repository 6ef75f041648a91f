"""Fault injection: named, deterministic misbehaviour of an agent (or a client). Pure.

``--fault KIND[:key=value,...]`` on ``acp-tap replay`` and ``acp-tap record``:
:mod:`~acp_tap.faults.spec` parses a spec, :mod:`~acp_tap.faults.select` decides which
frames a fault hits (method, update kind, nth, a seeded probability), and
:mod:`~acp_tap.faults.effect` says what the other side is sent instead of a frame. The
replay engine (:mod:`acp_tap.replay.faulting`) and the recording relay
(:mod:`acp_tap.faults.live`) carry the effects out; neither this package nor they import
trio.
"""
