"""A small, deterministic ACP v1 agent that behaves like ``kiro-cli acp`` in miniature.

Run it as ``acp-tap demo-agent`` or ``python -m acp_tap.demo.agent``. It speaks ACP (JSON-RPC 2.0,
one JSON message per line) on stdin/stdout, writes free-form logs to stderr and exits 0 when stdin
closes. Session ids, request ids, tool call ids and log timestamps derive from --seed, so the same
input gives the same output bytes.

Whole words in a session/prompt's text choose what the turn does (case-insensitive, combinable):

  tool, write  an edit tool call needing session/request_permission (allow_once / reject_once);
               allowed: in_progress, fs/write_text_file if the client has fs.writeTextFile,
               completed; rejected: failed, and the reply says so
  read PATH    fs/read_text_file PATH (client capability fs.readTextFile) and a summary of it
  run CMD      terminal/create, wait_for_exit, output and release for CMD, the rest of the line
               (client capability terminal)
  slow         sleep --delay seconds after each update, so session/cancel can arrive mid-turn
  error        answer the prompt with JSON-RPC error -32603
  crash        send two updates, write a line to stderr, exit with status 3 mid-turn
  garbage      also print a non-JSON log line on stdout, as real agents sometimes do

A turn sends: thought chunks, [garbage], read, run, tool/write, agent_message_chunks,
_kiro.dev/metadata, then answers {"stopReason": "end_turn" | "cancelled"}.
session/new answers, then sends _kiro.dev/commands/available and _kiro.dev/metadata;
session/load replays the session's history before answering {}.
"""

# The demo agent's options and documentation, apart from the agent itself so that building
# the acp-tap command line does not import trio.

from __future__ import annotations

import argparse

import attrs

DEFAULT_SEED = 1
DEFAULT_DELAY = 0.2

_HELP = (__doc__ or "\n\n").replace("``", "'")  # plain quotes on a terminal, not reST
DESCRIPTION, _BODY = _HELP.split("\n\n", 1)
EPILOG = (
    _BODY
    + """
examples:
  acp-tap demo-agent --seed 7
  acp-tap record -o demo.ndjson -- acp-tap demo-agent
  acp-tap rerun fixtures/permission-allowed.ndjson -- python -m acp_tap demo-agent --seed 7
"""
)


@attrs.frozen
class DemoOptions:
    """How the demo agent runs: the seed of its ids and timestamps, and the ``slow`` delay."""

    seed: int = DEFAULT_SEED
    delay: float = DEFAULT_DELAY


def _delay(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"--delay must be a number of seconds >= 0, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo agent's options."""
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of ids and timestamps (default: %(default)s)",
    )
    parser.add_argument(
        "--delay",
        type=_delay,
        default=DEFAULT_DELAY,
        metavar="SECONDS",
        help="pause after each update of a 'slow' prompt (default: %(default)s)",
    )


def options_from_args(args: argparse.Namespace) -> DemoOptions:
    """The options parsed by a parser that ``add_arguments`` configured."""
    return DemoOptions(seed=args.seed, delay=args.delay)
