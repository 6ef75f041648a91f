"""Whole-file outputs (acp_tap/wholefile.py): all or nothing, never over a file without force,
never through a symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from acp_tap.errors import OutputError
from acp_tap.wholefile import open_whole_file, whole_file_path


def write(target: Path, data: bytes, *, force: bool = False, meanwhile: bytes = b"") -> None:
    """Write ``data`` as a whole file; ``meanwhile``: someone else creates ``target`` first;
    ``data`` b"!": the writing fails half-way."""
    with open_whole_file(target, force=force) as out:
        out.write(data)
        if meanwhile:
            target.write_bytes(meanwhile)
        if data == b"!":
            raise RuntimeError("the input broke")


def start(target: Path, *, force: bool) -> None:
    """Begin a whole-file output (and fail the test if the work may start)."""
    with whole_file_path(target, force=force):
        pytest.fail("the work started")


def test_a_whole_file_is_published_complete_and_private(tmp_path: Path) -> None:
    """The file appears only once written, with mode 0600, and nothing else is left."""
    target = tmp_path / "sub" / "out.ndjson"
    with open_whole_file(target, force=False) as out:
        out.write(b"one\n")
        assert not target.exists()  # not before it is complete
        out.write(b"two\n")
    assert target.read_bytes() == b"one\ntwo\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["out.ndjson"]


def test_a_failure_leaves_nothing_and_the_retry_works(tmp_path: Path) -> None:
    """An error while writing leaves no file, empty or partial, so a retry succeeds."""
    target = tmp_path / "out.ndjson"
    with pytest.raises(RuntimeError):
        write(target, b"!")
    assert os.listdir(tmp_path) == []
    write(target, b"whole\n")
    assert target.read_bytes() == b"whole\n"


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    """Without force an existing file is refused before any work (exit 73); with it, replaced."""
    target = tmp_path / "out.ndjson"
    target.write_bytes(b"keep")
    with pytest.raises(OutputError, match=r"already exists.*--force") as info:
        start(target, force=False)
    assert info.value.exit_code == 73
    assert target.read_bytes() == b"keep"
    write(target, b"new", force=True)
    assert target.read_bytes() == b"new"


def test_a_file_created_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    """If the target appears while the output is written, it is kept, and that is an error."""
    target = tmp_path / "out.ndjson"
    with pytest.raises(OutputError, match="already exists"):
        write(target, b"mine", meanwhile=b"theirs")
    assert target.read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == ["out.ndjson"]


@pytest.mark.parametrize("force", [False, True])
def test_a_symlink_is_never_written_through_nor_replaced(tmp_path: Path, force: bool) -> None:
    """A symlink target is refused, with or without force; the file it points to is intact."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.ndjson"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        write(link, b"x", force=force)
    assert victim.read_bytes() == b"precious"
    assert link.is_symlink()


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_only_a_regular_file_is_replaced(tmp_path: Path, kind: str) -> None:
    """A directory or a FIFO in the way is refused even with force."""
    target = tmp_path / "out"
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(OutputError, match="not a regular file"):
        start(target, force=True)


def test_a_producer_may_create_the_file_itself(tmp_path: Path) -> None:
    """whole_file_path hands a path to create (O_EXCL works); creating nothing publishes
    nothing."""
    target = tmp_path / "out.ndjson"
    with whole_file_path(target, force=False) as scratch:
        assert scratch.parent.parent == tmp_path and not scratch.exists()
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"made")
        os.close(fd)
    assert target.read_bytes() == b"made"
    with whole_file_path(tmp_path / "nothing", force=False):
        pass
    assert sorted(os.listdir(tmp_path)) == ["out.ndjson"]


def test_an_unwritable_directory_is_an_output_error(tmp_path: Path) -> None:
    """No place to write: one OutputError naming the file, nothing left behind."""
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(OutputError, match=f"cannot write {blocker}/out: Not a directory"):
        start(blocker / "out", force=False)
