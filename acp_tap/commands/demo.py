"""``acp-tap demo-agent``: run the deterministic demo ACP agent on stdin/stdout."""

from __future__ import annotations

import argparse

from acp_tap.demo.options import DESCRIPTION, EPILOG, add_arguments, options_from_args


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo-agent``."""
    parser = subparsers.add_parser(
        "demo-agent",
        help="run a small deterministic ACP agent (kiro-cli in miniature) on stdin/stdout",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until stdin closes; the exit status is 0, or 3 after a ``crash`` prompt."""
    from acp_tap.demo import agent

    return agent.run(options_from_args(args))
