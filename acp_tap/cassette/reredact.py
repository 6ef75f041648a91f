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

    The header's argv is redacted too, and it lists the rules now in force (those it had,
    plus these), with the text of any regex it listed (older versions did) replaced by its
    number.
    """
    redactor = Redactor(rules)
    pending = PendingRequests()
    for record in records:
        if isinstance(record, Header):
            yield attrs.evolve(
                record,
                argv=redactor.argv(record.argv),
                redaction=merge_descriptions(record.redaction, rules),
            )
        elif isinstance(record, Frame):
            answers = None
            if record.payload is Payload.JSON:
                answers = pending.track(record.dir, envelope(record.message()))
            yield redact_frame(redactor, record, answers)
        else:
            yield record


def merge_descriptions(old: Iterable[str], rules: RedactionRules) -> tuple[str, ...]:
    """A header's rule list plus ``rules``: regexes by number only, never by their text."""
    kept: list[str] = []
    regexes = 0
    for item in old:
        if item.startswith(("regex:", "regex#")):
            regexes += 1
            kept.append(f"regex#{regexes}")
        else:  # older versions named the default rules as one: "defaults"
            kept.append("default-places" if item == "defaults" else item)
    return tuple(dict.fromkeys((*kept, *rules.describe(first_regex=regexes + 1))))
