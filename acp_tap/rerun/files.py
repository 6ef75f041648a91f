"""The files a recorded client serves to, or takes from, a live agent (``--fs-root``,
``--write-dir``): read and written by the shells (trio's and asyncio's) in a worker thread,
never outside their root (:mod:`acp_tap.rerun.confined`). A file refused for leading out
of its root, or one that cannot be written, is noted: the shell reports it as a problem."""

from __future__ import annotations

from pathlib import Path

from acp_tap.rerun.confined import Outside, read_inside, write_inside


def read_text(root: Path, rel: str, notes: list[str]) -> str | None:
    """The text of ``root/rel`` (``None``: missing, unreadable, not UTF-8, or refused)."""
    try:
        return read_inside(root, rel)
    except Outside as exc:
        notes.append(f"--fs-root: {rel} was not read: {exc.strerror}, which may lead out of {root}")
    except (OSError, UnicodeDecodeError):
        pass
    return None


def write_text(root: Path, rel: str, content: str, notes: list[str]) -> None:
    """Write ``content`` to ``root/rel``, creating its directories (the root too)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        write_inside(root, rel, content)
    except OSError as exc:
        notes.append(f"--write-dir: {rel} was not written: {exc.strerror or exc}")
