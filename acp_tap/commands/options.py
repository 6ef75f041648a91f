"""Options shared by several subcommands."""

from __future__ import annotations

import argparse


def add_redaction_options(parser: argparse.ArgumentParser) -> None:
    """--redact-key, --redact and --no-redact, shared with ``record``."""
    parser.add_argument(
        "--redact-key",
        action="append",
        default=[],
        metavar="NAME",
        help="also redact values of this object key (any case, anywhere; and {name, value} pairs)",
    )
    parser.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="REGEX",
        help="also redact matches of this regular expression (RE2 syntax: linear time) in "
        "every string, log line and argv; the header lists it as regex#N, never its text",
    )
    parser.add_argument(
        "--no-redact", action="store_true", help="turn off the default redaction rules"
    )


def positive_number(text: str) -> float:
    """An argparse type: a finite number greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def seconds_or_zero(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number of seconds, not {text}")
    return value


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def byte_size(text: str) -> int:
    """An argparse type: a number of bytes, 1 or more, maybe with a K, M or G suffix
    (powers of 1024; ``KiB``, ``MiB`` and ``GiB`` too)."""
    number = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = number[-1:] if number[-1:] in _UNITS else ""
    try:
        value = int(number.removesuffix(unit)) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a size in bytes: {text!r} (e.g. 1048576, 64M)"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 byte or more, not {text}")
    return value


def add_max_line_option(parser: argparse.ArgumentParser) -> None:
    """--max-line, for every command that reads cassettes."""
    from acp_tap.cassette.inputs import DEFAULT_MAX_LINE

    parser.add_argument(
        "--max-line",
        type=byte_size,
        default=DEFAULT_MAX_LINE,
        metavar="BYTES",
        help="the longest cassette line read (default 256M); a longer one is an error, "
        "not an out-of-memory",
    )


def add_fault_options(parser: argparse.ArgumentParser, where: str) -> None:
    """--fault and --fault-seed, shared by ``replay`` and ``record`` (``where``: the help's
    pointer to the kinds)."""
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"inject a fault: KIND[:key=value,...] (repeatable; {where})",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the faults' p and jitter draws (default 0)",
    )


def after_dashes(words: list[str]) -> list[str]:
    """A command given after ``--`` (argparse's REMAINDER keeps the ``--``)."""
    return words[1:] if words[:1] == ["--"] else words
