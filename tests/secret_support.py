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


@st.composite
def credentials(draw: st.DrawFn) -> tuple[str, str]:
    """(text as it would appear, the secret inside it that must never reach a cassette)."""
    kind = draw(st.integers(0, 16))
    if kind == 0:
        key = "sk-ant-api03-" + draw(chars(KEY, 93)) + "AA"
        return key, key
    if kind == 1:
        key = "sk-proj-" + draw(chars(KEY, 74)) + "T3BlbkFJ" + draw(chars(KEY, 74))
        return key, key
    if kind == 2:
        key = draw(st.sampled_from(["AKIA", "ASIA"])) + draw(chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
        return key, key
    if kind == 3:
        secret = draw(chars(ALNUM + "/+", 40))
        name = draw(st.sampled_from(["AWS_SECRET_ACCESS_KEY=", "aws_secret_access_key = '", "awsKey: "]))
        return name + secret + ("'" if name.endswith("'") else ""), secret
    if kind == 4:
        key = draw(st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])) + draw(chars(ALNUM, 36))
        return key, key
    if kind == 5:
        key = "github_pat_" + draw(chars(WORD, 82))
        return key, key
    if kind == 6:
        key = "glpat-" + draw(chars(KEY, 20))
        return key, key
    if kind == 7:
        digits = chars(string.digits, 12)
        key = f"xoxb-{draw(digits)}-{draw(digits)}-" + draw(chars(ALNUM, 24))
        return key, key
    if kind == 8:
        key = "AIza" + draw(chars(KEY, 35))
        return key, key
    if kind == 9:
        key = "eyJ" + draw(chars(ALNUM, 20)) + ".eyJ" + draw(chars(ALNUM, 30)) + "." + draw(chars(KEY, 20))
        return key, key
    if kind == 10:
        token = draw(chars(KEY + ".~+/", 24))
        return "Bearer " + token, token
    if kind == 11:
        user = draw(chars(ALNUM, 6))
        token = base64.b64encode(f"{user}:{draw(chars(ALNUM, 10))}".encode()).decode()
        return "Basic " + token, token
    if kind == 12:
        body = draw(chars(ALNUM + "+/", 96))
        key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
        return key, body
    if kind == 13:
        value = draw(chars(ALNUM, 16))
        name = draw(st.sampled_from(["access_token", "api-key", "Password", "client_secret"]))
        return f"https://mcp.example/sse?x=1&{name}={value}", value
    if kind == 14:
        token = draw(chars(KEY + ".", 20))
        return f"Authorization: {draw(st.sampled_from(['Bearer', 'token', 'bearer']))} {token}", token
    if kind == 15:
        token = draw(chars(ALNUM, 20))
        return f"proxy-authorization: {token}", token
    key = "glrt-" + draw(chars(KEY, 20))
    return key, key


prose = st.text(alphabet=string.ascii_letters + " ,:!?é😀", max_size=12)  # shorter than any secret
# a credential stands apart from the words around it (the formats end at a word boundary)
before = st.sampled_from([" ", "(", ": ", "key=", '"', "\n"])
after = st.sampled_from([" ", ".", ",", ")", "\n", '"', "'"])


@st.composite
def carrying(draw: st.DrawFn) -> tuple[str, str]:
    """A string carrying one credential in prose: (string, the secret)."""
    text, secret = draw(credentials())
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
