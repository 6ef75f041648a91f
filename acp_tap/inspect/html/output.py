"""Write a whole-file output atomically: a temporary file beside it, renamed into place.

Readers see the old file or the new one, never half of one. An existing file is only
replaced with ``force``; a symbolic link or anything but a regular file is never written
through or replaced; the output may not be one of the inputs. The file is created with
mode 0600, like a cassette: a page carries the cassette's content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from acp_tap.errors import OutputCreateError

_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}
)


def check_target(path: Path, *, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output path that must not be written, before any work is done."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputCreateError(f"cannot use {path} as output: {exc.strerror}") from None
    if stat.S_ISLNK(status.st_mode):
        raise OutputCreateError(
            f"{path} is a symbolic link; acp-tap does not write through links: "
            "give the path of a regular file"
        )
    if not stat.S_ISREG(status.st_mode):
        raise OutputCreateError(
            f"{path} exists and is not a regular file (a directory, a device or a pipe); "
            "choose another output path"
        )
    if any(_same_file(source, path) for source in inputs):
        raise OutputCreateError(f"{path} is also an input; choose another output path")
    if not force:
        raise OutputCreateError(
            f"{path} already exists; choose another name or pass --force to replace it"
        )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing: not the same
        return False


@contextlib.contextmanager
def atomic_output(
    path: Path, *, force: bool, inputs: Sequence[Path] = ()
) -> Iterator[Callable[[bytes], None]]:
    """A ``write`` function into a temporary file that becomes ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    check_target(path, force=force, inputs=inputs)
    temporary = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, flags, 0o600)
    except OSError as exc:
        raise OutputCreateError(
            f"cannot create {path}: {exc.strerror}; check the directory and its permissions"
        ) from None
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:

            def write(data: bytes) -> None:
                try:
                    out.write(data)
                except OSError as exc:
                    raise OutputCreateError(f"cannot write {path}: {exc.strerror}") from None

            yield write
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise OutputCreateError(f"cannot write {path}: {exc.strerror}") from None
        _put_in_place(temporary, path, force=force, inputs=inputs)
    finally:
        temporary.unlink(missing_ok=True)


def _put_in_place(temporary: Path, path: Path, *, force: bool, inputs: Sequence[Path]) -> None:
    check_target(path, force=force, inputs=inputs)  # again: it may have appeared meanwhile
    try:
        if force:
            os.replace(temporary, path)
            return
        try:
            os.link(temporary, path)  # fails if path exists, atomically
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            os.rename(temporary, path)  # a file system without hard links: checked just above
    except FileExistsError:
        raise OutputCreateError(
            f"{path} already exists; choose another name or pass --force to replace it"
        ) from None
    except OSError as exc:
        raise OutputCreateError(f"cannot put {path} in place: {exc.strerror}") from None
