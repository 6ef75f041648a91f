"""``acp-tap redact``: apply redaction rules to an existing cassette."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from acp_tap.cassette.model import Record
from acp_tap.commands.options import add_max_line_option, add_redaction_options
from acp_tap.errors import UsageError

DESCRIPTION = """\
Apply the recording redaction rules (the defaults, plus --redact-key and --redact) to a
cassette that already exists: to help share a cassette recorded with --no-redact, or to
remove a secret found later. Reads CASSETTE (- for standard input) and writes to stdout,
to -o FILE, or back into the cassette with --in-place. A file is written whole or not at
all: to a temporary file next to it, renamed into place (mode 0600) once complete; an
existing file is replaced only with --force (or --in-place), never through a symlink.
"""


EPILOG = """\
exit status:
  0   redacted (or the reader of stdout went away)
  2   usage error, or the cassette cannot be read (nothing is written or replaced)
  73  the output file cannot be created (exists without --force, a symlink, no permission)

examples:
  acp-tap redact session.ndjson > shared.ndjson
  acp-tap redact --redact 'sk-[A-Za-z0-9]+' -o shared.ndjson session.ndjson
  acp-tap redact --in-place --redact-key x-api-key session.ndjson
  gunzip -c session.ndjson.gz | acp-tap redact - -o - | gzip > shared.ndjson.gz
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``redact``."""
    parser = subparsers.add_parser(
        "redact",
        help="apply redaction rules to an existing cassette",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cassette", metavar="CASSETTE", help="the cassette (- for stdin)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", metavar="FILE", help="write the result here (- for stdout, the default)"
    )
    where.add_argument("--in-place", action="store_true", help="replace CASSETTE with the result")
    parser.add_argument("--force", action="store_true", help="replace an existing -o FILE")
    add_redaction_options(parser)
    add_max_line_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Redact and write the cassette."""
    from acp_tap.cassette.inputs import STDIN, open_cassette
    from acp_tap.cassette.reader import CassetteBuilder, read_records
    from acp_tap.cassette.reredact import redact_records
    from acp_tap.commands.output import warn
    from acp_tap.redaction import RedactionRules
    from acp_tap.wholefile import check_target, open_whole_file

    rules = RedactionRules.from_options(
        no_redact=args.no_redact, keys=args.redact_key, patterns=args.redact
    )
    if not rules.active:
        raise UsageError(
            "no redaction rule is active; drop --no-redact or add --redact/--redact-key"
        )
    source: str = args.cassette
    if args.in_place and source == STDIN:
        raise UsageError("--in-place needs a cassette file, not standard input; use -o FILE")
    target = Path(source) if args.in_place else args.output
    builder = CassetteBuilder(source)
    with open_cassette(source) as stream:
        if args.in_place:
            check_target(Path(source), force=True)  # a symlink: refused before any work
        redacted = redact_records(
            (r for _, r in read_records(stream, builder, max_line=args.max_line)), rules
        )
        if target is None or target == STDIN:
            _write_stdout(redacted)
        else:
            with open_whole_file(Path(target), force=args.force or args.in_place) as out:
                _write(redacted, out)
    warn("redact", builder.warnings)
    return 0


def _write(records: Iterable[Record], out: BinaryIO) -> None:
    from acp_tap.cassette.codec import encode_frame_bytes, encode_record
    from acp_tap.cassette.model import Frame

    for record in records:
        out.write(
            encode_frame_bytes(record) if isinstance(record, Frame) else encode_record(record)
        )


def _write_stdout(records: Iterable[Record]) -> None:
    """Write to stdout; stop quietly if its reader goes away (``| head``)."""
    from acp_tap.commands.output import discard_output

    try:
        _write(records, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        discard_output(sys.stdout)
