"""Generated credentials of every default format, and messages that carry them."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

from hypothesis import strategies as st

ALNUM = string.ascii_letters + string.digits
WORD = ALNUM + "_"
KEY = WORD + "-"


def chars(alphabet: str, size: int) -> st.SearchStrategy[str]:
    """Exactly ``size`` characters of ``alphabet``."""
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


def same(text: str) -> tuple[str, str]:
    """A credential that is wholly the secret."""
    return text, text


def pem(body: str) -> tuple[str, str]:
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----", body


def basic(user: str, password: str) -> tuple[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return "Basic " + token, token


UPPER32 = string.ascii_uppercase + "234567"
credentials: st.SearchStrategy[tuple[str, str]] = st.one_of(
    st.builds(lambda k: same("sk-ant-api03-" + k + "AA"), chars(KEY, 93)),
    st.builds(lambda a, b: same(f"sk-proj-{a}T3BlbkFJ{b}"), chars(KEY, 74), chars(KEY, 74)),
    st.builds(lambda p, k: same(p + k), st.sampled_from(["AKIA", "ASIA"]), chars(UPPER32, 16)),
    st.builds(
        lambda name, s: (name + s + ("'" if name.endswith("'") else ""), s),
        st.sampled_from(["AWS_SECRET_ACCESS_KEY=", "aws_secret_access_key = '", "awsKey: "]),
        chars(ALNUM + "/+", 40),
    ),
    st.builds(
        lambda p, k: same(p + k),
        st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        chars(ALNUM, 36),
    ),
    st.builds(lambda k: same("github_pat_" + k), chars(WORD, 82)),
    st.builds(
        lambda p, k: same(p + k), st.sampled_from(["glpat-", "glrt-", "gldt-"]), chars(KEY, 20)
    ),
    st.builds(
        lambda a, b, c: same(f"xoxb-{a}-{b}-{c}"),
        chars(string.digits, 12),
        chars(string.digits, 12),
        chars(ALNUM, 24),
    ),
    st.builds(lambda k: same("AIza" + k), chars(KEY, 35)),
    st.builds(
        lambda a, b, c: same(f"eyJ{a}.eyJ{b}.{c}"),
        chars(ALNUM, 20),
        chars(ALNUM, 30),
        chars(KEY, 20),
    ),
    st.builds(lambda t: ("Bearer " + t, t), chars(KEY + ".~+/", 24)),
    st.builds(basic, chars(ALNUM, 6), chars(ALNUM, 10)),
    st.builds(pem, chars(ALNUM + "+/", 96)),
    st.builds(
        lambda name, v: (f"https://mcp.example/sse?x=1&{name}={v}", v),
        st.sampled_from(["access_token", "api-key", "Password", "client_secret"]),
        chars(ALNUM, 16),
    ),
    st.builds(
        lambda scheme, t: (f"Authorization: {scheme} {t}", t),
        st.sampled_from(["Bearer", "token", "bearer"]),
        chars(KEY + ".", 20),
    ),
    st.builds(lambda t: (f"proxy-authorization: {t}", t), chars(ALNUM, 20)),
)
"""(text as it would appear, the secret inside it that must never reach a cassette)."""

prose = st.text(alphabet=string.ascii_letters + " ,:!?é😀", max_size=12)  # shorter than any secret
# a credential stands apart from the words around it (the formats end at a word boundary)
before = st.sampled_from([" ", "(", ": ", "key=", '"', "\n"])
after = st.sampled_from([" ", ".", ",", ")", "\n", '"', "'"])


@st.composite
def carrying(draw: st.DrawFn) -> tuple[str, str]:
    """A string carrying one credential in prose: (string, the secret)."""
    text, secret = draw(credentials)
    return draw(prose) + draw(before) + text + draw(after) + draw(prose), secret


CREDENTIAL_KEYS = ["password", "api_key", "X-Api-Key", "accessToken", "client-secret", "Cookie"]
ORDINARY_KEYS = ["text", "inputTokens", "maxTokens", "tokenCount", "tokenizer", "title"]


@st.composite
def messages(draw: st.DrawFn) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """(a JSON-RPC message, the secrets in it, its ordinary fields that must survive)."""
    secrets: list[str] = []
    ordinary = {key: draw(prose) for key in draw(st.sets(st.sampled_from(ORDINARY_KEYS)))}
    params: dict[str, Any] = dict(ordinary)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, 3))
        value, secret = draw(carrying())
        secrets.append(secret)
        if where == 0:
            params.setdefault("content", []).append({"type": "text", "text": value})
        elif where == 1:
            params.setdefault("_meta", {})[draw(st.sampled_from(CREDENTIAL_KEYS))] = secret
        elif where == 2:
            params.setdefault("args", []).append(value)
        else:
            params.setdefault("headers", []).append({"name": "Authorization", "value": secret})
    method = draw(st.sampled_from(["session/update", "session/prompt", "_vendor.dev/login"]))
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if draw(st.booleans()):
        message["id"] = draw(st.integers(0, 99))
    return message, secrets, ordinary


def leaked(secret: str, cassette: bytes) -> bool:
    """Whether ``secret`` is in ``cassette``, as it is or JSON-escaped."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return any(form.encode() in cassette for form in forms)
