"""Apply redaction rules to an existing cassette's records. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from acp_tap.cassette.model import Frame, Header, Payload, Record
from acp_tap.redaction import RedactionRules, Redactor, redact_frame
from acp_tap.wire.jsonrpc import envelope
from acp_tap.wire.pending import PendingRequests


def redact_records(records: Iterable[Record], rules: RedactionRules) -> Iterator[Record]:
    """The same records with ``rules`` applied, as ``acp-tap record`` would have.

    The header lists the rules now in force (those it had, plus these).
    """
    redactor = Redactor(rules)
    pending = PendingRequests()
    for record in records:
        if isinstance(record, Header):
            described = tuple(dict.fromkeys((*record.redaction, *rules.describe())))
            yield attrs.evolve(record, redaction=described)
        elif isinstance(record, Frame):
            answers = None
            if record.payload is Payload.JSON:
                answers = pending.track(record.dir, envelope(record.message()))
            yield redact_frame(redactor, record, answers)
        else:
            yield record
