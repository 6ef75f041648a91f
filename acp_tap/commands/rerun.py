"""``acp-tap rerun``: play a cassette's client into a real agent and report what changed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from acp_tap.commands.options import add_max_line_option, positive_number
from acp_tap.errors import UsageError

DESCRIPTION = """\
Start CMD (a real ACP agent) and play the client recorded in CASSETTE into it: each
recorded client message is sent when the recording's causal order allows (a prompt after
the previous turn's response, a cancel after as many updates as recorded), with the
session ids, tool call ids and request ids the live agent issues instead of the recorded
ones. The agent's requests are answered as the recorded client answered them: permission
requests by tool call and option kinds, fs/read_text_file from the recorded content (or
--fs-root), fs/write_text_file captured (and written to --write-dir), terminal/* from
the recording; a request the recording has no counterpart for gets a JSON-RPC error.
Then the live conversation is compared with the recorded one as 'acp-tap diff' does:
agent text (chunks joined), thoughts, tool calls, permission requests, stop reasons,
errors, capabilities, session setup and the exit status.
"""

EPILOG = """\
exit status:
  0  the agent behaved as recorded
  1  it behaved differently, hung (see --timeout) or crashed
  2  usage error, unreadable cassette, or the agent cannot be started

examples:
  acp-tap rerun fixtures/prompt-turn.ndjson -- kiro-cli acp
  acp-tap rerun golden.ndjson --cwd ~/src/proj -o live.ndjson -- python -m my_agent
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rerun``."""
    parser = subparsers.add_parser(
        "rerun",
        help="replay a cassette's client against a real agent and report what changed",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [options] CASSETTE -- CMD [ARGS...]",
    )
    parser.add_argument("cassette", type=Path, metavar="CASSETTE")
    parser.add_argument(
        "--cwd",
        type=Path,
        metavar="DIR",
        help="run the agent in DIR, standing for the recorded session working directory",
    )
    parser.add_argument(
        "--fs-root",
        type=Path,
        metavar="DIR",
        help="serve fs/read_text_file from DIR (paths relative to the session directory); "
        "files missing there come from the recording; nothing outside DIR is read, not "
        "through a symbolic link either",
    )
    parser.add_argument(
        "--write-dir",
        type=Path,
        metavar="DIR",
        help="write the contents of fs/write_text_file requests under DIR (relative to the "
        "session directory) for inspection; never outside DIR, nor through a symbolic link",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="record the live run to FILE (through 'acp-tap record') for show/diff",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing -o FILE")
    parser.add_argument(
        "--timeout",
        type=positive_number,
        default=30.0,
        metavar="SECONDS",
        help="how long the agent may stay silent while an answer is awaited, and may take "
        "to exit once its input is closed (default 30)",
    )
    parser.add_argument(
        "--max-time",
        type=positive_number,
        default=600.0,
        metavar="SECONDS",
        help="how long the whole run may take (default 600)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATH",
        help="do not compare this path of messages, e.g. result.agentInfo.version "
        '(dotted names, [N], [*], ["a.b"]; repeatable)',
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per difference")
    add_max_line_option(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.command)
    if "--" in command[1:]:  # options after CASSETTE: argparse's remainder took them
        cut = command.index("--")
        head, command = command[:cut], command[cut:]
        args.parser.parse_args([*head, str(args.cassette), *command], namespace=args)
        command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError(
            "rerun needs the agent command after '--', e.g. acp-tap rerun CASSETTE -- kiro-cli acp"
        )
    for name in ("cwd", "fs_root"):
        path = getattr(args, name)
        if path is not None and not path.is_dir():
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} {path}: not a directory")
    if args.output is not None and args.output.exists() and not args.force:
        raise UsageError(f"-o {args.output} exists; pass --force to replace it")
    return command


def run(args: argparse.Namespace) -> int:
    """Replay the client of one cassette against the agent; 0 same, 1 different."""
    import trio

    from acp_tap.errors import AgentStartError, CassetteError
    from acp_tap.inspect.show import visible
    from acp_tap.rerun.client import rerun_cassette

    command = _command(args)

    async def main() -> int:
        result = await rerun_cassette(
            args.cassette,
            command,
            cwd=args.cwd,
            fs_root=args.fs_root,
            write_dir=args.write_dir,
            output=args.output,
            ignore=args.ignore,
            timeout=args.timeout,
            max_time=args.max_time,
            max_line=args.max_line,
        )
        if args.json:
            for problem in result.problems:
                print(json.dumps({"problem": problem}, ensure_ascii=False))
            for change in result.changes:
                record = {"where": change.where, "field": change.field, "a": change.a}
                print(json.dumps({**record, "b": change.b}, ensure_ascii=False, default=repr))
        else:
            sys.stdout.write(visible(result.render()))  # agent text never drives a terminal
        print(f"acp-tap rerun: {result.verdict(str(args.cassette))}", file=sys.stderr)
        return result.status

    try:
        status: int = trio.run(main)
    except (AgentStartError, CassetteError) as exc:
        print(f"acp-tap rerun: {exc}", file=sys.stderr)
        return 2
    return status
