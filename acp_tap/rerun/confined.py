"""Files read for ``--fs-root`` and written for ``--write-dir``, never outside their root.

The engine gives a path relative to the root only to a path inside it (``..`` and absolute
paths elsewhere never get a place, :func:`acp_tap.rerun.answers.inside`). Here every
component below the root is opened without following symbolic links, so a link inside the
root (``rlink -> /etc``, ``wlink -> ../outside``) cannot lead out of it. The root itself is
the user's choice and may be a link.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Outside(OSError):
    """A path below the root goes through a symbolic link (or what is not a directory)."""


def _walk(root: Path, parts: list[str], *, create: bool) -> int:
    """A descriptor of the directory ``root/parts...``, opened one component at a time."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                below = os.open(part, _DIR, dir_fd=fd)
            except OSError as exc:
                raise Outside(exc.errno, f"{part} is a symbolic link or not a directory") from exc
            os.close(fd)
            fd = below
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_inside(root: Path, rel: str) -> str:
    """The UTF-8 text of ``root/rel``; raises :class:`OSError` (:class:`Outside` for a link)."""
    *parts, name = rel.split("/")
    fd = _walk(root, parts, create=False)
    try:
        try:
            file = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError as exc:
            if os.path.islink(os.path.join(root, rel)):
                raise Outside(exc.errno, f"{name} is a symbolic link") from exc
            raise
    finally:
        os.close(fd)
    with os.fdopen(file, "rb") as f:
        return f.read().decode("utf-8")


def write_inside(root: Path, rel: str, content: str) -> None:
    """Write ``content`` to ``root/rel`` (directories made as needed); raises :class:`Outside`
    when a component below ``root`` is a symbolic link."""
    *parts, name = rel.split("/")
    fd = _walk(root, parts, create=True)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            file = os.open(name, flags, 0o644, dir_fd=fd)
        except OSError as exc:
            raise Outside(exc.errno, f"{name} is a symbolic link or cannot be written") from exc
    finally:
        os.close(fd)
    with os.fdopen(file, "wb") as f:
        f.write(content.encode("utf-8"))
