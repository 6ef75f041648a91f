"""``acp-tap redact``: apply redaction rules to an existing cassette."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from acp_tap.commands.options import add_redaction_options
from acp_tap.errors import CassetteCreateError, UsageError

DESCRIPTION = """\
Apply the recording redaction rules (the defaults, plus --redact-key and --redact) to a
cassette that already exists: to help share a cassette recorded with --no-redact, or to
remove a secret found later. Writes to stdout, to -o FILE, or back into the cassette
with --in-place (atomically, mode 0600).
"""


EPILOG = """\
exit status:
  0   redacted
  2   usage error, or the cassette cannot be read (nothing is replaced)
  73  the output file cannot be created (exists without --force, no permission, a
      symbolic link or not a regular file, also with --in-place)
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
    parser.add_argument("cassette", type=Path, metavar="CASSETTE")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the result here")
    where.add_argument("--in-place", action="store_true", help="replace CASSETTE with the result")
    parser.add_argument("--force", action="store_true", help="replace an existing -o FILE")
    add_redaction_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Redact and write the cassette."""
    from acp_tap.cassette.codec import encode_frame_bytes, encode_record
    from acp_tap.cassette.model import Frame
    from acp_tap.cassette.reader import iter_records
    from acp_tap.cassette.reredact import redact_records
    from acp_tap.cassette.writer import create_cassette_file
    from acp_tap.redaction import RedactionRules

    rules = RedactionRules.from_options(
        no_redact=args.no_redact, keys=args.redact_key, patterns=args.redact
    )
    if not rules.active:
        raise UsageError(
            "no redaction rule is active; drop --no-redact or add --redact/--redact-key"
        )
    source: Path = args.cassette
    target: Path | None = args.output
    if args.in_place:
        if source.is_symlink() or (source.exists() and not source.is_file()):
            kind = "a symbolic link" if source.is_symlink() else "not a regular file"
            raise CassetteCreateError(
                f"cannot redact {source} in place: it is {kind} (acp-tap never replaces "
                "a link or writes through it); redact the real file, or use -o FILE"
            )
        target = source.with_name(f".{source.name}.redacting-{os.getpid()}")
    fd = create_cassette_file(target, force=args.force) if target is not None else None
    out = os.fdopen(fd, "wb") if fd is not None else sys.stdout.buffer
    try:
        for record in redact_records((r for _, r in iter_records(source)), rules):
            out.write(
                encode_frame_bytes(record) if isinstance(record, Frame) else encode_record(record)
            )
        out.flush()
    except BaseException:
        if args.in_place and target is not None:
            target.unlink(missing_ok=True)
        raise
    finally:
        if fd is not None:
            out.close()
    if args.in_place and target is not None:
        os.replace(target, source)
    return 0
