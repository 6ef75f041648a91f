"""``show --html`` and ``diff --html`` as commands: the file written, and refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from acp_tap.errors import OutputError
from acp_tap.wholefile import whole_file_writer
from tests.helpers import run_cli
from tests.inspect_support import cassette_lines, chunk, done, prelude, prompt

FIXTURES = Path(__file__).parent.parent / "fixtures"
PROMPT_TURN = FIXTURES / "prompt-turn.ndjson"


def test_show_html_writes_one_private_page(tmp_path: Path) -> None:
    """The page is written (mode 0600: it holds the cassette), with one line saying so."""
    page = tmp_path / "out" / "trace.html"
    done_ = run_cli(["show", "--html", page, PROMPT_TURN])
    assert done_.returncode == 0, done_.stderr
    assert done_.stdout == b""
    assert done_.stderr.decode() == f"acp-tap show: wrote {page} (21 frames)\n"
    assert page.read_bytes().startswith(b"<!DOCTYPE html>")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert os.listdir(page.parent) == ["trace.html"]  # no temporary file left


@pytest.mark.parametrize("force", [False, True], ids=["without-force", "with-force"])
def test_an_existing_page_is_replaced_only_with_force(tmp_path: Path, force: bool) -> None:
    """Without --force an existing file stays as it was (exit 73, one line); with it, replaced."""
    page = tmp_path / "trace.html"
    page.write_text("mine")
    done_ = run_cli(["show", "--html", page, *(["--force"] if force else []), PROMPT_TURN])
    if force:
        assert done_.returncode == 0
        assert page.read_bytes().startswith(b"<!DOCTYPE html>")
    else:
        assert done_.returncode == 73
        assert page.read_text() == "mine"
        assert done_.stderr.decode() == (
            f"acp-tap show: {page} already exists; choose another file or pass --force to "
            "replace it\n"
        )


def test_links_and_special_files_are_never_written(tmp_path: Path) -> None:
    """A symlink (even with --force), a directory and a FIFO are refused with exit 73; the
    link's target is untouched."""
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.html"
    os.mkfifo(fifo)
    for path, says in [
        (link, "is a symbolic link"),
        (tmp_path, "is not a regular file"),
        (fifo, "is not a regular file"),
    ]:
        done_ = run_cli(["show", "--html", path, "--force", PROMPT_TURN])
        assert done_.returncode == 73, path
        assert says in done_.stderr.decode()
        assert done_.stderr.count(b"\n") == 1
    assert target.read_text() == "keep"
    assert link.is_symlink()


def test_the_page_may_not_replace_the_cassette(tmp_path: Path) -> None:
    """Writing the page over the cassette it reads is refused, --force or not."""
    cassette = tmp_path / "c.ndjson"
    cassette.write_bytes(PROMPT_TURN.read_bytes())
    done_ = run_cli(["show", "--html", cassette, "--force", cassette])
    assert done_.returncode == 73
    assert b"is also an input" in done_.stderr
    assert cassette.read_bytes() == PROMPT_TURN.read_bytes()


def test_an_unwritable_directory_is_exit_73(tmp_path: Path) -> None:
    """A page that cannot be created says where and why."""
    done_ = run_cli(["show", "--html", "/proc/acp-tap/trace.html", PROMPT_TURN])
    assert done_.returncode == 73
    assert done_.stderr.startswith(b"acp-tap show: cannot create /proc/acp-tap/trace.html: ")


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path: Path) -> None:
    """An error in the middle leaves the old file as it was and no temporary file."""
    page = tmp_path / "trace.html"
    page.write_text("old")

    def interrupted() -> None:
        with whole_file_writer(page, force=True) as write:
            write(b"half a page")
            raise RuntimeError("cassette went away")

    with pytest.raises(RuntimeError):
        interrupted()
    assert page.read_text() == "old"
    assert os.listdir(tmp_path) == ["trace.html"]


def test_a_file_appearing_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    """Without force, a file created while the page was written is kept (no race)."""
    page = tmp_path / "trace.html"

    def raced() -> None:
        with whole_file_writer(page, force=False) as write:
            write(b"page")
            page.write_text("someone else's")

    with pytest.raises(OutputError, match="already exists"):
        raced()
    assert page.read_text() == "someone else's"
    assert os.listdir(tmp_path) == ["trace.html"]


def test_missing_or_malformed_cassettes(tmp_path: Path) -> None:
    """A missing cassette writes nothing (exit 2); a malformed line gives a page of what
    precedes it, saying so, and exit 2 as plain show does."""
    page = tmp_path / "trace.html"
    done_ = run_cli(["show", "--html", page, tmp_path / "nope.ndjson"])
    assert done_.returncode == 2
    assert b"cannot read" in done_.stderr
    assert not page.exists()
    broken = tmp_path / "broken.ndjson"
    lines = cassette_lines([*prelude(), prompt(), chunk("hi"), done()])
    broken.write_bytes(b"".join(lines[:4]) + b"{not json\n" + b"".join(lines[4:]))
    done_ = run_cli(["show", "--html", page, broken])
    assert done_.returncode == 2
    assert b"broken.ndjson:5: not a JSON line" in done_.stderr
    assert b"line 5: not a JSON line" in page.read_bytes()


def test_usage_errors() -> None:
    """--json with --html, and --follow with --html, are refused as usage errors."""
    assert run_cli(["show", "--json", "--html", "x.html", PROMPT_TURN]).returncode == 2
    assert run_cli(["show", "--follow", "--html", "x.html", PROMPT_TURN]).returncode == 2
    assert run_cli(["show"]).returncode == 2


def test_diff_html_writes_the_page_and_still_reports(tmp_path: Path) -> None:
    """diff --html keeps diff's output and exit status, and writes both sides in one page."""
    page = tmp_path / "review.html"
    a, b = FIXTURES / "permission-allowed.ndjson", FIXTURES / "permission-rejected.ndjson"
    done_ = run_cli(["diff", "--html", page, a, b])
    plain = run_cli(["diff", a, b])
    assert done_.returncode == plain.returncode == 1
    assert done_.stdout == plain.stdout
    assert done_.stderr.decode().endswith(f"; side by side in {page}\n")
    body = page.read_bytes()
    assert body.count(b'class="acp-frames" data-track="0"') >= 1
    assert body.count(b'class="acp-frames" data-track="1"') >= 1
    again = run_cli(["diff", "--html", page, a, b])
    assert again.returncode == 73


def test_diff_html_with_an_unreadable_cassette_writes_nothing(tmp_path: Path) -> None:
    """A cassette that cannot be read stops diff --html before any page exists."""
    page = tmp_path / "review.html"
    done_ = run_cli(["diff", "--html", page, PROMPT_TURN, tmp_path / "missing.ndjson"])
    assert done_.returncode == 2
    assert not page.exists()
    assert os.listdir(tmp_path) == []
