"""Replay a cassette's client into a live agent, to see what changed in the agent.

The pure core (no I/O, no trio): :mod:`~acp_tap.rerun.plan` (when each recorded client
message may go), :mod:`~acp_tap.rerun.engine` (the state machine), :mod:`~acp_tap.rerun.answers`
and :mod:`~acp_tap.rerun.requests` (answering the agent as the recorded client did),
:mod:`~acp_tap.rerun.verdict` and :mod:`~acp_tap.rerun.result`, on top of
:mod:`acp_tap.matching`. The trio shell, which spawns the agent, is
:mod:`acp_tap.rerun.client`.
"""
