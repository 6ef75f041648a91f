"""``acp-tap torture CASSETTE -- CLIENT ARGV...``: how a client survives every fault."""

from __future__ import annotations

import argparse
import sys
import tempfile
from functools import partial
from pathlib import Path

from acp_tap.commands.options import after_dashes, positive_int, positive_number

DESCRIPTION = """\
Run CLIENT once per scenario, with `acp-tap replay` of CASSETTE as its agent: the clean
replay, then each fault kind at its default target (the first session/update of the first
prompt turn; error on the first session/prompt; hang and crash also at session start),
and print what the client did: its exit status (or signal), how long it ran, whether it
hung (still running at --timeout, then killed with its process group), whether it closed
the agent's stdin, and the last line of its stderr. Each fault is an `acp-tap replay
--fault` spec, so a finding is reproduced with `acp-tap replay --fault SPEC CASSETTE`.

An argument that is exactly {agent} becomes the replay command's words; {agent} inside a
longer argument (acpx's --agent "{agent}") becomes the shell-quoted command line. The
client runs with stdin and stdout on /dev/null, in a session of its own.

examples:
  acp-tap demo -o demo.ndjson
  acp-tap torture demo.ndjson -- acp-tap demo-client -- {agent}
  acp-tap torture --json --timeout 30 session.ndjson -- my-client --agent-command "{agent}"
  acp-tap torture --ignore params.clientInfo session.ndjson -- acpx --agent "{agent}" exec hi
"""

EPILOG = """\
exit status: 0 the client never hung nor died of a signal; 1 it did in some scenario;
2 usage error, or a cassette that cannot be read; 127/126 the client cannot be started
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``torture``."""
    parser = subparsers.add_parser(
        "torture",
        help="run a client against every fault: a robustness scorecard",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cassette", metavar="CASSETTE", help="the recording to replay")
    parser.add_argument(
        "--timeout",
        type=positive_number,
        default=10.0,
        metavar="SECONDS",
        help="how long each client run may take before it counts as hung (default 10)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATH",
        help="passed to acp-tap replay: do not compare this path of client messages "
        "(e.g. params.clientInfo.version; repeatable)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="run N scenarios at a time (default 1: each client run has the machine to "
        "itself, so its timings are its own); rows still come in scenario order",
    )
    parser.add_argument("--json", action="store_true", help="a JSON list of the runs")
    parser.add_argument("client", nargs=argparse.REMAINDER, metavar="-- CLIENT ARGV")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run every scenario; 1 if the client hung or died of a signal in any."""
    import trio

    from acp_tap.errors import UsageError
    from acp_tap.replay.source import compile_path
    from acp_tap.torture.run import torture
    from acp_tap.torture.scenarios import scenarios
    from acp_tap.torture.table import Outcome, Table, summary, to_json

    client = after_dashes(args.client)
    if not client:
        raise UsageError("torture needs the client command after --, with {agent} in it")
    if not any("{agent}" in arg for arg in client):
        raise UsageError(
            "the client command has no {agent}: put {agent} where the agent command goes "
            '(e.g. `-- my-client --agent "{agent}"`)'
        )
    cassette = Path(args.cassette).resolve()
    plan, _ = compile_path(cassette, args.ignore)  # a bad path is refused here, once
    options = [arg for path in args.ignore for arg in ("--ignore", path)]
    chosen = scenarios(plan)
    table = Table.of(chosen)

    def show(outcome: Outcome) -> None:
        if not args.json:
            print(table.row(outcome), flush=True)

    if not args.json:
        print(table.header(), flush=True)
    with tempfile.TemporaryDirectory(prefix="acp-tap-torture-") as workdir:
        outcomes = trio.run(
            partial(
                torture, workdir=Path(workdir), options=options, on_outcome=show, jobs=args.jobs
            ),
            cassette,
            client,
            chosen,
            args.timeout,
        )
    if args.json:
        print(to_json(outcomes))
    else:
        print(summary(outcomes), file=sys.stderr)
    return 1 if any(o.failed for o in outcomes) else 0
