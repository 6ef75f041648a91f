"""Whole-file outputs, written atomically: the one place that writes them.

``redact -o FILE`` and ``--in-place``, ``demo -o FILE`` and any later report written to a
file (``--html``) are produced in a private temporary directory next to ``FILE`` and only
then published under its name, so a failure or an interrupt never leaves a partial or an
empty ``FILE`` behind (only, after SIGKILL, a hidden ``.FILE.*`` directory).

The rules, checked before any work starts and again when publishing:

- an existing ``FILE`` is never replaced without ``force`` (publishing without ``force``
  is a hard link, which fails if ``FILE`` appeared meanwhile, rather than a rename);
- a symbolic link is never written through, nor replaced: the file it points to stays
  untouched, whatever ``force`` says;
- only a regular file is ever replaced (not a directory, FIFO or device);
- the output is never one of the command's inputs (``show --html x.ndjson x.ndjson``).

``record``'s cassette is not a whole-file output: it is append-only and crash-safe,
created with ``O_EXCL`` (:func:`acp_tap.cassette.writer.create_cassette_file`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from acp_tap.errors import OutputError


def check_target(path: Path, *, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Raise :class:`OutputError` unless ``path`` may be written (see the module rules)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(
            f"{path} is a symbolic link; acp-tap never writes through or over one: "
            "remove it or choose another file"
        )
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{path} exists and is not a regular file; choose another file")
    if any(_same_file(source, path) for source in inputs):
        raise OutputError(f"{path} is also an input; choose another output file")
    if not force:
        raise OutputError(
            f"{path} already exists; choose another file or pass --force to replace it"
        )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing: not the same
        return False


@contextlib.contextmanager
def whole_file_path(path: Path, *, force: bool, inputs: Sequence[Path] = ()) -> Iterator[Path]:
    """A path to create the output at, published as ``path`` when the block ends cleanly.

    The path is in a new private directory next to ``path`` (so publishing is a rename on
    the same file system) and does not exist yet: the caller creates it (``O_EXCL`` is
    fine). If the block raises, or creates nothing, ``path`` is left as it was.
    """
    check_target(path, force=force, inputs=inputs)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        made = scratch / path.name
        yield made
        if made.exists():
            _publish(made, path, force=force, inputs=inputs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def open_whole_file(
    path: Path, *, force: bool, mode: int = 0o600, inputs: Sequence[Path] = ()
) -> Iterator[BinaryIO]:
    """A binary file to write the whole output to; published as ``path`` (with ``mode``) when
    the block ends cleanly, discarded otherwise."""
    with whole_file_path(path, force=force, inputs=inputs) as made:
        fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            yield out
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def whole_file_writer(
    path: Path, *, force: bool, inputs: Sequence[Path] = ()
) -> Iterator[Callable[[bytes], None]]:
    """:func:`open_whole_file` as a ``write`` function whose failures (a full disk) are
    :class:`OutputError` naming ``path``."""
    with open_whole_file(path, force=force, inputs=inputs) as out:

        def write(data: bytes) -> None:
            try:
                out.write(data)
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None

        yield write


def _publish(made: Path, path: Path, *, force: bool, inputs: Sequence[Path]) -> None:
    """Give ``made`` the name ``path``: atomically, and without ``force`` never over a file."""
    check_target(path, force=force, inputs=inputs)  # again: the work may have taken a while
    try:
        if force:
            os.replace(made, path)
            return
        try:
            os.link(made, path)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            os.rename(made, path)  # no hard links here: the check above must do
    except FileExistsError:
        raise OutputError(
            f"{path} was created while acp-tap was writing it; not replaced (pass --force)"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
