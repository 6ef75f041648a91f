"""What both replays use: compare live traffic with a recording, and translate between them.

:mod:`~acp_tap.matching.normal` (normal forms, ignore paths, keys),
:mod:`~acp_tap.matching.index` (finding the recorded message, or the closest),
:mod:`~acp_tap.matching.diff` (how two messages differ), :mod:`~acp_tap.matching.ids`
(id keys, splicing ids into raw bytes), :mod:`~acp_tap.matching.relocation` (working
directories), :mod:`~acp_tap.matching.mismatch` (the JSON-RPC error answered when nothing
matches) and :mod:`~acp_tap.matching.loader` (a fast cassette loader). Pure; imports
neither :mod:`acp_tap.replay` nor :mod:`acp_tap.rerun`, which never import each other.
"""
