"""The one exception hierarchy of acp-tap.

    AcpTapError
    ├── UsageError (ValueError)             -- a bad option or argument combination
    │   └── SdkMissingError (ImportError)   -- an in-process SDK agent, and no SDK installed
    ├── CassetteError
    │   ├── CassetteCreateError (OSError)   -- the cassette file cannot be created
    │   ├── CassetteInputError (OSError)    -- a cassette cannot be opened for reading
    │   └── CassetteFormatError (ValueError) -- a cassette line cannot be read
    ├── OutputError (OSError)               -- a whole-file output cannot be written
    └── AgentStartError (OSError)           -- the agent command cannot be started

Every message says what happened, where, and what to do next.
JSON-RPC error *responses* are data, not exceptions.
"""

from __future__ import annotations


class AcpTapError(Exception):
    """Root of every error acp-tap raises on purpose."""

    exit_code: int = 1


class UsageError(AcpTapError, ValueError):
    """A command line or API call that cannot work as given."""

    exit_code = 2


class SdkMissingError(UsageError, ImportError):
    """An API that runs an in-process agent of the official ACP Python SDK was used, and the
    SDK (``agent-client-protocol``, module ``acp``) is not installed."""


class CassetteError(AcpTapError):
    """A problem with a cassette file."""


class CassetteCreateError(CassetteError, OSError):
    """The cassette file could not be created."""

    exit_code = 73  # EX_CANTCREAT


class CassetteInputError(CassetteError, OSError):
    """A cassette cannot be opened for reading: missing, unreadable, or not a regular file."""

    exit_code = 2  # the input cannot be used


class CassetteFormatError(CassetteError, ValueError):
    """A cassette line is not in the acp-tap cassette format."""

    exit_code = 2  # like a missing file: the input cannot be used

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")


class OutputError(AcpTapError, OSError):
    """A whole-file output (``-o FILE``, ``--in-place``) cannot be written; nothing was replaced."""

    exit_code = 73  # EX_CANTCREAT


class AgentStartError(AcpTapError, OSError):
    """The agent command could not be started (not found, not executable)."""

    def __init__(self, message: str, exit_code: int) -> None:
        self.exit_code = exit_code
        super().__init__(message)
