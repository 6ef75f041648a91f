"""``acp-tap demo-agent``: run the deterministic demo ACP agent on stdin/stdout."""

from __future__ import annotations

import argparse

from acp_tap import demo_agent


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo-agent``."""
    parser = subparsers.add_parser(
        "demo-agent",
        help="run a small deterministic ACP agent (kiro-cli in miniature) on stdin/stdout",
        description=demo_agent.DESCRIPTION,
        epilog=demo_agent.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo_agent.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until stdin closes; the exit status is 0, or 3 after a ``crash`` prompt."""
    return demo_agent.run(demo_agent.options_from_args(args))
