"""The default secret rules: known credential formats and credential-named keys. Pure; no I/O
beyond reading the vendored rule files once.

Formats come from maintained sources vendored next to this module (see ``PROVENANCE.md``):
gitleaks' rules for Anthropic, OpenAI, AWS access key ids, GitHub, GitLab, Slack, Google API
keys, JWTs and PEM private keys, and detect-secrets' AWS secret access key rule. A few rules
are ours, built from the same sources or from :data:`CREDENTIAL_NAMES`: ``authorization-header``,
``bearer-token`` and ``basic-credentials`` (from gitleaks' ``curl-auth-header``), and
``url-credential-parameter``. Every rule has a name the cassette header lists.

Every pattern runs with RE2 (``google-re2``: linear time) over the UTF-8 bytes of a string in
Latin-1 mode, so ``(?i)`` folds ASCII letters only and ``.`` counts bytes: what a rule can
match is then visible in the raw bytes of a JSON line, which is what lets the recorder's
prefilter (:mod:`acp_tap.secrets.prefilter`) skip lines that hold no anchor of any rule.
A rule's secret is its capture groups (those that took part in the match), else the whole
match; only the secret is replaced.
"""

from __future__ import annotations

import base64
import binascii
import importlib.resources
import tomllib
from collections.abc import Callable
from typing import Any, Final

import attrs

from acp_tap.secrets.engine import compile_bytes

CREDENTIAL_NAMES: Final = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "apikey",
        "xapikey",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "privatekey",
    }
)
"""Keys whose values are secrets, once lower-cased with ``-`` and ``_`` removed (ASCII only)."""

LONGEST_NAME: Final = max(map(len, CREDENTIAL_NAMES))

_SEPARATORS = str.maketrans("", "", "-_")


def is_credential_name(key: str) -> bool:
    """Whether ``key`` names a credential: ``API_KEY``, ``x-api-key``, ``accessToken``...

    Not ``inputTokens``, ``maxTokens``, ``tokenCount`` or ``tokenizer``: the normalised name
    must be exactly one of :data:`CREDENTIAL_NAMES`.
    """
    return key.isascii() and key.translate(_SEPARATORS).lower() in CREDENTIAL_NAMES


# gitleaks' rules end a secret with one of a few delimiters (made for source code); a key
# at the end of a sentence ("... AA.") or in parentheses would escape them, so any
# character that cannot continue the secret ends it here.
_GITLEAKS_END = r"""(?:[\x60'"\s;]|\\[nr]|$)"""
_TOKEN_END = r"(?:[^0-9A-Za-z_\-]|$)"  # noqa: S105 (a pattern, not a password)
_ADAPTED = {  # rule id -> (text in the vendored regex, what runs instead)
    "slack-webhook-url": ("hooks.slack.com", r"hooks\.slack\.com"),  # dots meant literally
    # a key ending in "-" has no word boundary after it; the end is checked just after
    "openai-api-key": (r"{58})\b|sk-", "{58})|sk-"),
}


def _ascii_ci(word: str) -> str:
    """``key`` -> ``[Kk][Ee][Yy]``: case-insensitive for ASCII letters only."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _spelled(name: str) -> str:
    """A credential name as it may be written: any case, ``-`` or ``_`` anywhere."""
    return "[-_]*" + "[-_]*".join(_ascii_ci(c) for c in name) + "[-_]*"


def _is_basic_credential(secret: bytes) -> bool:
    """Whether a ``Basic`` token decodes to ``user:password`` text (not an ordinary word)."""
    try:
        decoded = base64.b64decode(secret + b"=" * (-len(secret) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded and decoded.isascii() and decoded.decode().isprintable()


@attrs.frozen
class SecretRule:
    """One credential format: its name, its pattern, and an optional check of what it found."""

    name: str
    pattern: Any = attrs.field(eq=False, repr=False)  # compiled RE2, bytes, Latin-1
    check: Callable[[bytes], bool] | None = attrs.field(default=None, eq=False, repr=False)
    member: bool = False
    """Also matched against ``KEY="VALUE"`` for an object member (the key gives context)."""


def _vendored(name: str) -> list[dict[str, Any]]:
    text = importlib.resources.files("acp_tap.secrets").joinpath(name).read_text("utf-8")
    rules: list[dict[str, Any]] = tomllib.loads(text)["rules"]
    return rules


def _gitleaks_rules() -> list[SecretRule]:
    rules = []
    for rule in _vendored("gitleaks.toml"):
        regex: str = rule["regex"].replace(_GITLEAKS_END, _TOKEN_END)
        if rule["id"] in _ADAPTED:
            old, new = _ADAPTED[rule["id"]]
            regex = regex.replace(old, new)
        rules.append(SecretRule(rule["id"], compile_bytes(regex)))
    return rules


def _detect_secrets_rules() -> list[SecretRule]:
    (rule,) = _vendored("detect_secrets.toml")
    # IGNORECASE spelled out for ASCII letters, and the secret may also follow "=" or ":"
    # (an environment variable or a YAML line), not only a quote.
    regex = (
        rule["regex"]
        .replace("aws", _ascii_ci("aws"))
        .replace(
            "(?:key|pwd|pw|password|pass|token)", _ascii_ci("(?:key|pwd|pw|password|pass|token)")
        )
        .replace(
            r"""['\"]([0-9a-zA-Z/+]{40})['\"]""",
            r"""(?:['"]|[=:][ \t]*)([0-9a-zA-Z/+]{40})(?:['"]|[^0-9a-zA-Z/+=]|$)""",
        )
    )
    return [SecretRule(rule["id"], compile_bytes(regex), member=True)]


def _our_rules() -> list[SecretRule]:
    """Rules built from gitleaks' ``curl-auth-header`` and from :data:`CREDENTIAL_NAMES`."""
    names = "|".join(_spelled(name) for name in sorted(CREDENTIAL_NAMES))
    return [
        SecretRule(
            "authorization-header",
            compile_bytes(
                r"(?i)\b(?:proxy-)?authorization:[ \t]{0,5}(?:basic[ \t]([a-z0-9+/]{8,}={0,3})"
                r"|(?:bearer|(?:api-)?token)[ \t]([\w=~@.+/-]{8,})|([\w=~@.+/-]{8,}))"
            ),
        ),
        SecretRule("bearer-token", compile_bytes(r"\bBearer[ \t]+([\w=~@.+/-]{8,})")),
        SecretRule(
            "basic-credentials",
            compile_bytes(r"\bBasic[ \t]+([A-Za-z0-9+/]{8,}={0,3})"),
            check=_is_basic_credential,
        ),
        SecretRule(
            "url-credential-parameter",
            compile_bytes(rf"[?&#;](?:{names})=([^&#\s\"'<>]+)"),
        ),
    ]


DEFAULT_RULES: Final[tuple[SecretRule, ...]] = (
    *_gitleaks_rules(),
    *_detect_secrets_rules(),
    *_our_rules(),
)
"""Every credential format redacted by default, in the order they run."""
