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
        help="also redact matches of this regular expression in every string and log line",
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


def seconds_or_zero(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number of seconds, not {text}")
    return value


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
