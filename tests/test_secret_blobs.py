"""Binary data in base64 is not searched for secret formats: images stay byte-exact, and
the recorder keeps its fast path on them; secrets beside them are still redacted."""

from __future__ import annotations

import base64
import json
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.model import Direction
from acp_tap.cassette.recorder import Recorder
from acp_tap.native import native
from acp_tap.redaction import PLACEHOLDER, RedactionRules, Redactor, json_might_hold_secret
from acp_tap.secrets.blobs import BLOB_MIN, blob_spans, is_blob, non_base64_py, outside
from tests.secret_support import carrying, leaked

C2A = Direction.CLIENT_TO_AGENT
B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
NATIVE = native("acp_tap._plainlines", "non_base64")
GOOGLE_KEY = "+AIza" + "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW" + "/"  # a match if searched


def image(size: int, *, seed: int = 0, spelled: str = GOOGLE_KEY) -> str:
    """Base64 of random bytes that spells ``spelled`` (a key's shape) in its middle."""
    data = base64.b64encode(random.Random(seed).randbytes(size * 3 // 4)).decode()
    middle = len(data) // 2 - len(data) // 2 % 4
    return data[:middle] + spelled + data[middle + len(spelled) :]


def prompt(data: str, text: str = "What is in this picture?") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "session/prompt",
        "params": {
            "sessionId": "s1",
            "prompt": [
                {"type": "text", "text": text},
                {"type": "image", "mimeType": "image/png", "data": data},
            ],
        },
    }


def record(message: dict[str, Any], chunk: int) -> tuple[bytes, dict[str, Any]]:
    """The line and its frame as the recorder stores it, fed ``chunk`` bytes at a time."""
    line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    recorder = Recorder(Redactor(RedactionRules()))
    out = b"".join(
        b"".join(recorder.feed(C2A, line[at : at + chunk], 0.5).buffers)
        for at in range(0, len(line), chunk)
    )
    (frame,) = [json.loads(cassette_line) for cassette_line in out.splitlines()]
    return out, frame


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=200) | st.text(alphabet=B64.decode(), max_size=200).map(str.encode),
    cut=st.integers(0, 200),
)
def test_native_non_base64_agrees_with_the_reference(data: bytes, cut: int) -> None:
    start = min(cut, len(data))
    expected = non_base64_py(data, start, len(data))
    if NATIVE is not None:
        assert NATIVE(data, start, len(data)) == expected


@settings(max_examples=300, deadline=None)
@given(
    line=st.binary(min_size=1, max_size=300),
    cuts=st.lists(st.integers(1, 300), max_size=5),
    marks=st.lists(st.integers(0, 300), max_size=6, unique=True),
)
def test_outside_is_the_line_without_the_spans(
    line: bytes, cuts: list[int], marks: list[int]
) -> None:
    """Whatever the pieces and spans, the parts outside are the line with the spans cut."""
    edges = sorted(min(mark, len(line)) for mark in marks)
    spans = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=False) if a < b]
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(line[at : at + cut])
        at += cut
    pieces.append(line[at:])
    expected, last = b"", 0
    for a, b in spans:
        expected += line[last:a]
        last = b
    expected += line[last:]
    assert b"".join(bytes(part) for part in outside([p for p in pieces if p], spans)) == expected


def test_what_is_a_blob() -> None:
    searched = Redactor(RedactionRules())._scrub(image(BLOB_MIN))
    assert GOOGLE_KEY[1:-1] not in searched  # what the formats would do to the image
    assert is_blob(image(BLOB_MIN))
    assert not is_blob(image(BLOB_MIN)[: BLOB_MIN - 1])  # too short
    assert not is_blob(image(BLOB_MIN) + " ")  # a separator: text, not data
    assert not is_blob("é" * BLOB_MIN)
    line = json.dumps({"a": "x", "b": image(BLOB_MIN), "c": "y" * BLOB_MIN}).encode()
    start = line.index(b'"b": "') + 6
    assert blob_spans([line], [(start, start + BLOB_MIN), (0, 10)]) == [(start, start + BLOB_MIN)]


@pytest.mark.parametrize("size", [BLOB_MIN, 300_000, 3 << 20])
@pytest.mark.parametrize("chunk", [1 << 20, 65_536, 1 << 30])
def test_an_image_whose_bytes_spell_a_key_is_recorded_byte_exact(size: int, chunk: int) -> None:
    """Whole or in pieces, short or long: the image is stored as sent, nothing redacted."""
    message = prompt(image(size))
    out, frame = record(message, chunk)
    assert frame["msg"] == message
    assert "redacted" not in frame
    assert GOOGLE_KEY.encode() in out
    line = json.dumps(message, separators=(",", ":")).encode()
    if size > BLOB_MIN:
        assert not json_might_hold_secret(line)  # the fast path keeps it


@pytest.mark.parametrize("size", [BLOB_MIN, 300_000, 3 << 20])
@pytest.mark.parametrize("chunk", [1 << 20, 1 << 30])
def test_a_key_beside_an_image_is_redacted_and_the_image_kept(size: int, chunk: int) -> None:
    data = image(size)
    key = "sk-ant-api03-" + "k" * 93 + "AA"
    out, frame = record(prompt(data, text=f"use {key} please"), chunk)
    assert key.encode() not in out
    blocks = frame["msg"]["params"]["prompt"]
    assert blocks[0]["text"] == f"use {PLACEHOLDER} please"
    assert blocks[1]["data"] == data
    assert frame["redacted"] == ["params.prompt[0].text"]


@settings(max_examples=60, deadline=None)
@given(text_secret=carrying(), pad=st.integers(0, 64))
def test_a_secret_in_a_long_string_that_is_not_data_is_redacted(
    text_secret: tuple[str, str], pad: int
) -> None:
    """A long string with the secret set apart (here by spaces) is text: it is searched."""
    text, secret = text_secret
    long_text = image(BLOB_MIN, seed=pad) + " " + text + " " + "A" * pad
    out, _ = record(prompt("iVBORw0KGgo=", text=long_text), 1 << 16)
    assert not leaked(secret, out)


def test_user_patterns_and_credential_names_still_apply_to_blobs() -> None:
    data = image(BLOB_MIN)
    rules = RedactionRules.from_options(no_redact=False, keys=(), patterns=(re.escape(GOOGLE_KEY),))
    new, paths = Redactor(rules).message(C2A, prompt(data), None)
    assert paths == ("params.prompt[1].data",)
    assert GOOGLE_KEY not in json.dumps(new)
    named, paths = Redactor(RedactionRules()).message(C2A, {"params": {"token": data}}, None)
    assert named == {"params": {"token": PLACEHOLDER}}
