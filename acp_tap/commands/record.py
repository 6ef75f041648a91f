"""``acp-tap record``: run an agent behind the recording proxy."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
from pathlib import Path

from acp_tap.commands.options import add_fault_options, add_redaction_options
from acp_tap.errors import UsageError

DESCRIPTION = """\
Run CMD (an ACP agent, spawned directly, never through a shell) and relay stdin/stdout
between it and the client byte for byte, recording every line of both directions and of
the agent's stderr into a cassette. Only the cassette is redacted, never the relayed bytes.

--fault KIND[:key=value,...] (repeatable; the kinds and selectors of `acp-tap replay`, plus
dir=a2c|c2a, default a2c) is the one exception: the client (dir=c2a: the agent) is sent
what the fault says, while the cassette keeps what was really sent and, after each frame a
fault hit, a fault record of what the other side got instead (the header lists the faults;
such cassettes are format 2). nth counts lines in arrival order; p and jitter are drawn
from --fault-seed, the fault's position and the line's number in its stream. With dir=c2a
only delay, slice, drop, duplicate, garbage and corrupt apply. After crash, the client's
stdout and the agent's stdin close, the agent gets SIGTERM, then SIGKILL after --grace,
and acp-tap exits with the crash's status; after close, the client's stdout closes and the
session goes on; after hang, the client gets nothing more, and its stdout stays open for
60 s after the agent exited (unless acp-tap is signalled).
"""

EPILOG = """\
examples:
  acp-tap record -- kiro-cli acp --trust-all-tools      # cassette in ./cassettes/
  acp-tap record -o session.ndjson -- npx @zed-industries/codex-acp
  ACP_TAP_DIR=~/cassettes acp-tap record -q -- claude-code-acp
  acp-tap record --redact 'sk-[A-Za-z0-9]+' -o s.ndjson -- python -m my_agent

exit status:
  the agent's own exit status, or 128+N if it was killed by signal N
  N    a crash fault fired (crash:status=N, default 1)
  2    usage error (a bad option, a bad --fault; also a --redact pattern RE2 cannot run:
       back-references, look-around)
  73   the cassette cannot be created (exists without --force, no permission, a symbolic
       link, a FIFO or anything but a regular file, with or without --force)
  126  CMD is not executable
  127  CMD was not found

default redaction (--no-redact turns it off), in every string value, log line and the argv
of the header: known credential formats (Anthropic, OpenAI, AWS, GitHub, GitLab, Slack and
Google keys, JWTs, Bearer/Basic credentials, PEM private keys, credentials in URL query
parameters); values of keys named password, passwd, secret, client_secret, token,
access_token, refresh_token, id_token, auth_token, api_key, x-api-key, authorization,
proxy-authorization, cookie, set-cookie, private_key (any case, - and _ ignored); env values
of mcpServers and terminal/create, headers of MCP servers, authenticate params (but
methodId), results of agent->client requests whose method names auth, token, credential,
secret or password. The header lists --redact patterns as regex#N, never their text.

when the client has gone (stdin and stdout closed, or writing to it failed) and the agent
does not exit: --grace seconds, SIGTERM, --grace seconds, SIGKILL. The agent's process
group ends with the session, and with acp-tap even if acp-tap is killed.
"""

SWITCH_INTERVAL = 0.0002
"""Seconds a thread waits for the GIL before asking its holder to let go (Python's: 0.005)."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``record``."""
    parser = subparsers.add_parser(
        "record",
        help="run an agent behind a transparent proxy and record the session",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [options] -- CMD [ARGS...]",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="the cassette file to write"
    )
    where.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="directory for a timestamped cassette (default: $ACP_TAP_DIR or ./cassettes)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing cassette file")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="say nothing on stderr unless something fails"
    )
    add_redaction_options(parser)
    parser.add_argument(
        "--grace",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="how long the agent gets at each step of ending it: after forwarding "
        "SIGINT/SIGTERM/SIGHUP, and once the client has gone (default 3)",
    )
    add_fault_options(parser, "see above and acp-tap replay -h")
    parser.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def cassette_path(args: argparse.Namespace, argv0: str) -> Path:
    """Where this recording goes."""
    from acp_tap.record import default_cassette_name

    if args.output is not None:
        return Path(args.output)
    directory = args.dir or Path(os.environ.get("ACP_TAP_DIR") or "cassettes")
    return Path(directory) / default_cassette_name(argv0)


def run(args: argparse.Namespace) -> int:
    """Record one session; return the agent's status."""
    import trio

    from acp_tap.faults.spec import parse_faults
    from acp_tap.native import describe, fast_path
    from acp_tap.record import RecordConfig, message_line, record
    from acp_tap.redaction import RedactionRules
    from acp_tap.relay import keep_freed_buffers, write_all

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError(
            "record needs an agent command after '--', e.g. acp-tap record -- kiro-cli acp"
        )
    if args.grace < 0:
        raise UsageError("--grace must be 0 or more seconds")
    faults = parse_faults(args.fault, record=True)
    rules = RedactionRules.from_options(
        no_redact=args.no_redact, keys=args.redact_key, patterns=args.redact
    )
    config = RecordConfig(
        argv=tuple(command),
        cassette=cassette_path(args, command[0]),
        force=args.force,
        quiet=args.quiet,
        rules=rules,
        grace=args.grace,
        faults=faults,
        fault_seed=args.fault_seed,
    )

    keep_freed_buffers()
    gc.freeze()  # what is loaded by now lives to the end: keep it out of every collection
    # The relay thread takes the GIL back after each read and write; while the framing
    # thread runs Python (a long line's pieces), it would wait up to 5 ms for it.
    sys.setswitchinterval(SWITCH_INTERVAL)

    async def main() -> int:
        if not config.quiet and shutil.which(command[0]) is not None:  # else record() says why
            write_all(2, message_line(f"recording {command[0]} to {config.cassette}"))
            if fast_path() is not None:
                write_all(2, message_line(f"note: {describe()}; see README.md, Performance"))
        result = await record(config, 0, 1, 2)
        return result.status

    status: int = trio.run(main)
    sys.stdout.flush()
    return status
