"""Opening cassettes and splitting them into bounded lines (acp_tap/cassette/inputs.py)."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import pytest

from acp_tap.cassette.inputs import (
    CHUNK,
    DEFAULT_MAX_LINE,
    open_cassette,
    read_lines,
)
from acp_tap.commands.options import byte_size
from acp_tap.errors import CassetteFormatError, CassetteInputError


class Pipe(io.BufferedReader):
    """A stream that cannot seek, as standard input from a pipe."""

    def seekable(self) -> bool:
        return False


def streams(data: bytes) -> list[io.BufferedReader]:
    """The same bytes as a file (seekable) and as a pipe (not)."""
    return [io.BufferedReader(io.BytesIO(data)), Pipe(io.BytesIO(data))]


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "pipe"])
@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([b"a\n", b"bc\n", b"d"], id="short"),
        pytest.param([b"x" * (CHUNK - 1) + b"\n", b"y" * CHUNK + b"\n", b"z" * CHUNK], id="chunk"),
        pytest.param([b"q" * (3 * CHUNK + 5) + b"\n", b"\n", b"r" * (2 * CHUNK)], id="long"),
        pytest.param([b"s" * (CHUNK + 1)], id="long-last"),
    ],
)
def test_lines_come_whole_with_their_newlines(lines: list[bytes], seekable: bool) -> None:
    """Every line, short or many chunks long, comes whole and numbered, however read."""
    stream = streams(b"".join(lines))[0 if seekable else 1]
    assert list(read_lines(stream, "c.ndjson")) == list(enumerate(lines, start=1))


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "pipe"])
@pytest.mark.parametrize("limit", [10, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_a_line_longer_than_max_line_is_an_error_at_its_line(seekable: bool, limit: int) -> None:
    """A line of exactly ``max_line`` bytes (newline not counted) is read; one byte more is
    an error naming the file and line, with or without a newline after it."""
    fits = b"f" * limit + b"\n"
    for over in (b"o" * (limit + 1) + b"\n", b"o" * (limit + 1), b"o" * (limit + 7)):
        stream = streams(b"ok\n" + fits + over)[0 if seekable else 1]
        lines = read_lines(stream, "c.ndjson", limit)
        assert next(lines) == (1, b"ok\n")
        assert next(lines) == (2, fits)
        with pytest.raises(CassetteFormatError, match="longer than") as info:
            next(lines)
        assert (info.value.path, info.value.line) == ("c.ndjson", 3)


def test_a_long_line_of_a_file_is_read_once_in_one_piece(tmp_path: Path) -> None:
    """A long line of a regular file is measured, then read with one read call."""
    path = tmp_path / "c.ndjson"
    path.write_bytes(b"h\n" + b"x" * (5 * CHUNK) + b"\n")
    reads: list[int] = []
    with open_cassette(path) as stream:
        real_read = stream.read

        def read(size: int = -1) -> bytes:
            reads.append(size)
            return real_read(size)

        stream.read = read  # type: ignore[method-assign]
        assert [len(line) for _, line in read_lines(stream, str(path))] == [2, 5 * CHUNK + 1]
    assert reads == [5 * CHUNK + 1]


def test_max_line_defaults_to_256_mib() -> None:
    """The default --max-line is 256 MiB."""
    assert DEFAULT_MAX_LINE == 256 << 20


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        pytest.param("directory", "it is a directory", id="directory"),
        pytest.param("fifo", "it is a FIFO (named pipe)", id="fifo"),
        pytest.param("/dev/null", "it is a character device", id="device"),
        pytest.param("missing", "No such file or directory; record one with", id="missing"),
        pytest.param("loop", "Too many levels of symbolic links", id="symlink-loop"),
    ],
)
def test_only_regular_files_are_opened(tmp_path: Path, kind: str, words: str) -> None:
    """A directory, a FIFO (without waiting for a writer), a device, a missing file and a
    symlink loop are refused with one line naming the path, exit status 2."""
    path = tmp_path / "x"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to("x")
    elif kind != "missing":
        path = Path(kind)
    with pytest.raises(CassetteInputError) as info:
        open_cassette(path)
    assert str(info.value).startswith(f"cannot read cassette {path}: ")
    assert words in str(info.value)
    assert info.value.exit_code == 2


def test_a_symlink_to_a_cassette_is_read(tmp_path: Path) -> None:
    """Reading follows a symlink to a regular file (only writing never goes through one)."""
    (tmp_path / "real.ndjson").write_bytes(b"line\n")
    (tmp_path / "link.ndjson").symlink_to("real.ndjson")
    with open_cassette(tmp_path / "link.ndjson") as stream:
        assert stream.read() == b"line\n"


def test_standard_input_only_where_the_command_takes_it() -> None:
    """'-' opens standard input, unless the command reads its cassette from a file only."""
    with open_cassette("-") as stream:
        assert stream.fileno() != 0  # a copy: closing it leaves fd 0 open
    with pytest.raises(CassetteInputError, match="standard input"):
        open_cassette("-", stdin=False)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1", 1), ("1048576", 1 << 20), ("64k", 64 << 10), ("64M", 64 << 20), ("2GiB", 2 << 30)],
)
def test_byte_sizes_take_units(text: str, size: int) -> None:
    """--max-line takes bytes, or K, M, G (powers of 1024)."""
    assert byte_size(text) == size


@pytest.mark.parametrize("text", ["0", "-5", "lots", "1.5M", ""])
def test_bad_byte_sizes_are_refused(text: str) -> None:
    """A size that is not a whole number of bytes, 1 or more, is a usage error."""
    with pytest.raises(argparse.ArgumentTypeError):
        byte_size(text)


def test_an_unreadable_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No permission to read (root reads anything, so the refusal is simulated)."""
    path = tmp_path / "secret.ndjson"
    path.write_bytes(b"")

    def refuse(name: str, *_: object) -> int:
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr("acp_tap.cassette.inputs.os.open", refuse)
    with pytest.raises(CassetteInputError) as info:
        open_cassette(path)
    assert str(info.value) == f"cannot read cassette {path}: Permission denied"
