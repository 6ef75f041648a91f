"""``acp-tap demo-agent``: run the deterministic demo ACP agent on stdin/stdout."""

from __future__ import annotations

import argparse

from acp_tap import demo_options


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo-agent``."""
    parser = subparsers.add_parser(
        "demo-agent",
        help="run a small deterministic ACP agent (kiro-cli in miniature) on stdin/stdout",
        description=demo_options.DESCRIPTION,
        epilog=demo_options.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo_options.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until stdin closes; the exit status is 0, or 3 after a ``crash`` prompt."""
    from acp_tap import demo_agent

    return demo_agent.run(demo_options.options_from_args(args))
