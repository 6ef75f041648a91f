"""The files a recorded client serves to, or takes from, a live agent (``--fs-root``,
``--write-dir``): read and written by the shells, in a worker thread."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path) -> str | None:
    """The file's text (``None``: missing, unreadable or not UTF-8: the agent gets an error)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_text(path: Path, content: str) -> None:
    """Write ``content`` to ``path``, creating its directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
