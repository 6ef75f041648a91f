"""Read cassettes: ``show`` (a timeline), ``check`` (ACP v1 conformance), conversation turns.

Everything here is pure and synchronous: functions take ``(line number, record)`` pairs
from :func:`acp_tap.cassette.reader.iter_records` and never touch files or trio.
"""
