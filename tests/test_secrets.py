"""Default secret rules: formats, credential names, the prefilter, and the recorder's cassette."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.model import Direction
from acp_tap.cassette.recorder import Recorder
from acp_tap.native import native
from acp_tap.redaction import PLACEHOLDER, RedactionRules, Redactor
from acp_tap.secrets.prefilter import (
    NATIVE,
    might_hold_secret_py,
    pieces_might_hold_secret,
)
from acp_tap.secrets.rules import CREDENTIAL_NAMES, is_credential_name
from tests.secret_support import carrying, leaked, messages

DEFAULTS = Redactor(RedactionRules())
C2A = Direction.CLIENT_TO_AGENT
needs_native = pytest.mark.skipif(NATIVE is None, reason="acp_tap._plainlines is not built")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        *[
            (key, True)
            for key in [
                "password",
                "PASSWD",
                "client_secret",
                "x-api-key",
                "API_KEY",
                "accessToken",
                "refresh_token",
                "id-token",
                "authToken",
                "Authorization",
                "Proxy-Authorization",
                "cookie",
                "Set-Cookie",
                "private_key",
                "__token__",
                "secret",
            ]
        ],
        *[
            (key, False)
            for key in [
                "inputTokens",
                "maxTokens",
                "tokenCount",
                "tokenizer",
                "tokens",
                "secrets",
                "passwordHint",
                "api",
                "key",
                "to\u212aen",
                "githubToken",
            ]
        ],
    ],
)
def test_credential_names_are_exactly_the_listed_ones(key: str, expected: bool) -> None:
    """Lower-cased without `-` and `_`, a key must be one of the names; nothing near it."""
    assert is_credential_name(key) is expected


@needs_native
def test_native_prefilter_knows_the_same_names() -> None:
    """The C prefilter's list of credential names is the Python one."""
    names = native("acp_tap._plainlines", "credential_names")
    assert names is not None
    assert names() == CREDENTIAL_NAMES


@settings(max_examples=300, deadline=None)
@given(text_secret=carrying())
def test_every_format_is_redacted_in_prose(text_secret: tuple[str, str]) -> None:
    """A credential of any default format inside ordinary text is replaced; the text around stays."""
    text, secret = text_secret

    new, paths = DEFAULTS.text(text)

    assert secret not in new
    assert paths == ("text",)
    assert PLACEHOLDER in new


@pytest.mark.parametrize(
    "text",
    [
        "a Basic overview of Basic Authentication and Bearer tokens",
        "AWS Lambda and the aws cli; the tokenizer counts inputTokens",
        "see https://example.com/search?q=token&page=2",
        "they say: eyes.eyeball and sk-antelope",
        "maxTokens=100 tokenCount=3",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    """Words that look like the anchors of a rule, but are no credential, stay."""
    assert DEFAULTS.text(text) == (text, ())


def test_header_argv_is_redacted() -> None:
    """A credential on the agent's command line is replaced in the header's argv."""
    token = "ghp_" + "a1B2" * 9
    assert DEFAULTS.argv(["agent", f"--token={token}", "--model", "x"]) == (
        "agent",
        f"--token={PLACEHOLDER}",
        "--model",
        "x",
    )


# -- the prefilter ------------------------------------------------------------------------


def raw(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


@settings(max_examples=400, deadline=None)
@given(drawn=messages(), ascii_only=st.booleans())
def test_prefilter_never_misses_what_redaction_would_change(
    drawn: tuple[dict[str, Any], list[str], dict[str, Any]], ascii_only: bool
) -> None:
    """Whenever the default rules change a message, both prefilters flag its raw line."""
    message, _, _ = drawn
    line = json.dumps(message, ensure_ascii=ascii_only, separators=(",", ":")).encode()
    _, paths = DEFAULTS.message(C2A, message, None)
    if paths:
        assert might_hold_secret_py(line)
        if NATIVE is not None:
            assert NATIVE(line, 0, len(line))


json_text = st.text(max_size=30)
lines = (
    st.builds(raw, st.dictionaries(json_text, json_text | st.integers(), max_size=5))
    | st.builds(lambda t: t.encode("utf-8", "surrogatepass"), json_text)
    | st.binary(max_size=60)
    | st.sampled_from(
        [
            b'{"ToKeN":1}',
            b"?a-c_c-e_s_s-token=1",
            b'"\\u0041KIA"',
            b"AWS key: '",
            b"x.eyJ",
            b"-----BeGiN",
            b"XOXB-1",
            b"gldt-",
            b"authoriZation",
        ]
    )
)


@needs_native
@settings(max_examples=500, deadline=None)
@given(data=lines, cut=st.integers(0, 80), extra=st.binary(max_size=40))
def test_native_prefilter_flags_all_the_reference_flags(
    data: bytes, cut: int, extra: bytes
) -> None:
    """Any bytes, any range: the C prefilter never says no where the reference says yes."""
    assert NATIVE is not None
    buffer = extra[:cut] + data + extra[cut:]
    start = min(cut, len(extra))
    if might_hold_secret_py(buffer, start, start + len(data)):
        assert NATIVE(buffer, start, start + len(data))


ANCHORS = [
    b"sk-ant-",
    b"T3BlbkFJ",
    b"AIza",
    b"GR1348941",
    *[b"gh%c_" % c for c in b"pousr"],
    b"github_pat_",
    b"_gitlab_session=",
    *[b"gl%s-" % p for p in b"pat ptt dt rt soat cbt ffct ft imt agent oas".split()],
    b"x.eyJ",
    b"hooks.slack.com",
    b"Bearer",
    b"Basic",
    b"xoxb-",
    b"XoX1-",
    b"xApp-",
    b"-----BeGiN",
    b"authoriZation",
    *[p + b"ABCDEFGHIJKLMNOP" for p in (b"A3TX", b"A3T7", b"AKIA", b"ASIA", b"ABIA", b"ACCA")],
    b"aws_key='",
    b"AWS pass: ",
    b"aWs" + b"." * 300 + b"TOKEN=",
    b"\\u0041",
    b'"Api-Key"',
    b'"-set_cookie"',
    b"?client_secret=",
    b"__PASSWORD=",
]
near_misses = st.text(alphabet="aAiIwWzZJGFRxXoOesk-_gthil=\"\\u07 BKSC3.p:'", max_size=120)


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    before=near_misses,
    anchors=st.lists(st.sampled_from(ANCHORS), max_size=3),
    after=near_misses,
    shift=st.integers(0, 40),
)
def test_native_prefilter_flags_anchors_anywhere_in_long_buffers(
    before: str, anchors: list[bytes], after: str, shift: int
) -> None:
    """Long buffers take the vector search: at any offset, among near misses of every gate
    byte, it flags what the reference flags."""
    assert NATIVE is not None
    data = b"." * shift + before.encode() + b"".join(anchors) + after.encode()
    start = min(shift, 7)
    if might_hold_secret_py(data, start):
        assert NATIVE(data, start, len(data))


@needs_native
@pytest.mark.parametrize("anchor", ANCHORS)
def test_native_prefilter_finds_each_anchor_at_every_offset(anchor: bytes) -> None:
    """Each anchor, alone in a line of ordinary text, at every position of a vector and its
    neighbours, is flagged by both prefilters; the same text without it is not."""
    assert NATIVE is not None
    text = b'{"text":"' + b"plain words, nothing to hide; " * 4
    assert not NATIVE(text + text, 0, 2 * len(text))
    for offset in range(70):
        data = text[: 9 + offset] + b" " + anchor + b" " + text[9 + offset :]
        assert might_hold_secret_py(data), (anchor, offset)
        assert NATIVE(data, 0, len(data)), (anchor, offset)


@settings(max_examples=200, deadline=None)
@given(
    text_secret=carrying(), cuts=st.lists(st.integers(1, 50), max_size=6), pad=st.integers(0, 900)
)
def test_a_line_in_pieces_is_flagged_as_the_whole_line(
    text_secret: tuple[str, str], cuts: list[int], pad: int
) -> None:
    """A secret straddling the pieces of a long line is still flagged."""
    line = raw({"method": "session/prompt", "params": {"a": "x" * pad, "text": text_secret[0]}})
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(line[at : at + cut * 37])
        at += cut * 37
    pieces.append(line[at:])
    assert pieces_might_hold_secret([p for p in pieces if p])


# -- the property: through the recorder --------------------------------------------


@settings(max_examples=200, deadline=None)
@given(drawn=st.lists(messages(), min_size=1, max_size=4), chunk=st.integers(1, 500))
def test_cassette_holds_no_generated_credential_and_keeps_ordinary_fields(
    drawn: list[tuple[dict[str, Any], list[str], dict[str, Any]]], chunk: int
) -> None:
    """Credentials anywhere in any string are not in the cassette; ordinary fields are intact."""
    stream = b"".join(raw(message) + b"\n" for message, _, _ in drawn)
    recorder = Recorder(Redactor(RedactionRules()))
    out = b"".join(
        b"".join(recorder.feed(C2A, stream[at : at + chunk], 0.5).buffers)
        for at in range(0, len(stream), chunk)
    )
    out += b"".join(recorder.close(C2A, 1.0).buffers)
    frames = [json.loads(line) for line in out.splitlines()]
    assert len(frames) == len(drawn)
    for frame, (_, secrets, ordinary) in zip(frames, drawn, strict=True):
        for secret in secrets:
            assert not leaked(secret, out), secret
        params = frame["msg"]["params"]
        assert {key: params[key] for key in ordinary} == ordinary


def test_regex_pattern_text_never_reaches_the_header() -> None:
    """Only `regex#N` is listed: a literal key given to --redact is not published."""
    rules = RedactionRules.from_options(no_redact=False, keys=(), patterns=("sk-REALKEY",))
    assert not any(re.search("REALKEY", item) for item in rules.describe())
