"""``acp-tap torture``: a robustness scorecard for any ACP client.

:mod:`~acp_tap.torture.scenarios` picks, from a cassette, where each fault kind is aimed
(pure); :mod:`~acp_tap.torture.run` runs the client once per scenario against ``acp-tap
replay`` (the trio shell); :mod:`~acp_tap.torture.table` prints what happened (pure).
"""
