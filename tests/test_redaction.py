"""Tests for acp_tap.redaction: default places, user keys and regexes, frames."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import decode_line, encode_frame_bytes
from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.errors import UsageError
from acp_tap.redaction import (
    PLACEHOLDER,
    RedactionRules,
    Redactor,
    format_path,
    is_secret_method,
    redact_frame,
)

C2A = Direction.CLIENT_TO_AGENT
A2C = Direction.AGENT_TO_CLIENT
ERR = Direction.AGENT_STDERR
R = PLACEHOLDER

DEFAULTS = Redactor(RedactionRules())


def redactor(
    *, defaults: bool = True, keys: tuple[str, ...] = (), patterns: tuple[str, ...] = ()
) -> Redactor:
    """A redactor built the way the command line builds it."""
    return Redactor(
        RedactionRules.from_options(no_redact=not defaults, keys=keys, patterns=patterns)
    )


def request(method: str, params: Any, msg_id: int | str = 1) -> dict[str, Any]:
    """A JSON-RPC request."""
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def stdio_server(env: Any) -> dict[str, Any]:
    """An MCP stdio server description with the given env."""
    return {"name": "fs", "command": "/bin/mcp", "args": ["--x"], "env": env}


# --- default places --------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", ["session/new", "session/load", "session/resume", "session/fork", "_vendor.dev/start"]
)
def test_mcp_server_env_values_are_redacted_for_any_method_carrying_them(method: str) -> None:
    """Each `env[*].value` of each MCP server is replaced, names and other fields kept."""
    env = [{"name": "API_KEY", "value": "sk-1"}, {"name": "HOME", "value": "/h", "_meta": {"a": 1}}]
    msg = request(method, {"cwd": "/w", "mcpServers": [stdio_server(env)]})

    new, paths = DEFAULTS.message(C2A, msg, None)

    expected_env = [
        {"name": "API_KEY", "value": R},
        {"name": "HOME", "value": R, "_meta": {"a": 1}},
    ]
    assert new == request(method, {"cwd": "/w", "mcpServers": [stdio_server(expected_env)]})
    assert paths == ("params.mcpServers[0].env[0].value", "params.mcpServers[0].env[1].value")


def test_mcp_server_headers_are_redacted() -> None:
    """HTTP/SSE servers' `headers[*].value` are replaced; url and names are kept."""
    server = {
        "type": "http",
        "name": "web",
        "url": "https://mcp.example/",
        "headers": [{"name": "Authorization", "value": "Bearer abc"}],
    }
    msg = request("session/new", {"cwd": "/w", "mcpServers": [stdio_server([]), server]})

    new, paths = DEFAULTS.message(C2A, msg, None)

    assert new["params"]["mcpServers"][1] == {
        **server,
        "headers": [{"name": "Authorization", "value": R}],
    }
    assert new["params"]["mcpServers"][0] == stdio_server([])
    assert paths == ("params.mcpServers[1].headers[0].value",)


def test_dict_form_env_and_servers_are_redacted() -> None:
    """`env: {"K": "v"}` and `mcpServers: {"name": {...}}` forms get every value replaced."""
    msg = request("session/new", {"mcpServers": {"my.fs": {"env": {"TOKEN": "t", "N": 3}}}})

    new, paths = DEFAULTS.message(C2A, msg, None)

    assert new["params"] == {"mcpServers": {"my.fs": {"env": {"TOKEN": R, "N": R}}}}
    assert paths == ('params.mcpServers["my.fs"].env.N', 'params.mcpServers["my.fs"].env.TOKEN')


def test_non_string_and_string_list_env_entries_are_replaced_whole() -> None:
    """Non-string values become the placeholder; `"K=v"` list entries are replaced entirely."""
    env = [{"name": "PORT", "value": 8080}, "SECRET=x", {"name": "NOVALUE"}]
    msg = request("session/new", {"mcpServers": [stdio_server(env)]})

    new, _ = DEFAULTS.message(C2A, msg, None)

    assert new["params"]["mcpServers"][0]["env"] == [
        {"name": "PORT", "value": R},
        R,
        {"name": "NOVALUE"},
    ]


def test_terminal_create_env_is_redacted() -> None:
    """`terminal/create` env values are replaced; command, args and cwd are kept."""
    params = {
        "sessionId": "s",
        "command": "make",
        "args": ["test"],
        "env": [{"name": "GITHUB_TOKEN", "value": "ghp_x"}],
        "cwd": "/w",
    }

    new, paths = DEFAULTS.message(A2C, request("terminal/create", params, "u-1"), None)

    assert new["params"] == {**params, "env": [{"name": "GITHUB_TOKEN", "value": R}]}
    assert new["id"] == "u-1"
    assert paths == ("params.env[0].value",)


def test_env_of_other_methods_is_not_a_default_place() -> None:
    """An `env` outside terminal/create and mcpServers is not redacted by default."""
    msg = request("_vendor/run", {"env": [{"name": "A", "value": "b"}]})

    assert DEFAULTS.message(C2A, msg, None) == (msg, ())


def test_authenticate_keeps_method_id_and_meta() -> None:
    """Every authenticate param except `methodId` and `_meta` is replaced, in its place."""
    params = {"methodId": "api-key", "apiKey": "sk-1", "extra": {"n": [1]}, "_meta": {"trace": "x"}}

    new, paths = DEFAULTS.message(C2A, request("authenticate", params), None)

    assert list(new["params"].items()) == [
        ("methodId", "api-key"),
        ("apiKey", R),
        ("extra", R),
        ("_meta", {"trace": "x"}),
    ]
    assert paths == ("params.apiKey", "params.extra")


def test_authenticate_with_only_method_id_is_unchanged() -> None:
    """A plain authenticate carries no secret, so the very same object comes back."""
    msg = request("authenticate", {"methodId": "oauth"})

    new, paths = DEFAULTS.message(C2A, msg, None)

    assert new is msg
    assert paths == ()


@pytest.mark.parametrize(
    "answers", ["_kiro.dev/auth/token", "x/GetPassword", "_a/Credentials", "vault/SECRET"]
)
def test_result_of_agent_token_request_is_replaced(answers: str) -> None:
    """The client's result for an agent->client auth/token request is replaced whole."""
    msg = {"jsonrpc": "2.0", "id": "a-7", "result": {"token": "eyJ", "expires": 3600}}

    new, paths = DEFAULTS.message(C2A, msg, answers)

    assert new == {"jsonrpc": "2.0", "id": "a-7", "result": R}
    assert paths == ("result",)


@pytest.mark.parametrize(
    ("direction", "answers"),
    [
        pytest.param(C2A, None, id="answers-unknown"),
        pytest.param(C2A, "fs/read_text_file", id="not-a-secret-method"),
        pytest.param(A2C, "_kiro.dev/auth/token", id="agent-response"),
    ],
)
def test_token_response_redaction_needs_a_client_answer_to_a_secret_method(
    direction: Direction, answers: str | None
) -> None:
    """Without `answers` naming a secret method answered by the client, results are kept."""
    msg = {"jsonrpc": "2.0", "id": 3, "result": {"expires": 3600, "scope": "repo"}}

    assert DEFAULTS.message(direction, msg, answers) == (msg, ())


def test_error_response_to_token_request_is_kept() -> None:
    """An error answering a token request has no result to hide."""
    msg = {"jsonrpc": "2.0", "id": 3, "error": {"code": -32603, "message": "no"}}

    assert DEFAULTS.message(C2A, msg, "_kiro.dev/auth/token") == (msg, ())


def test_is_secret_method_is_case_insensitive() -> None:
    """Method names are matched on the words, ignoring case."""
    assert [is_secret_method(m) for m in ["_X/OAuth", "getToken", "session/new", "fs/read"]] == [
        True,
        True,
        False,
        False,
    ]


def test_bulk_methods_are_not_searched_by_default() -> None:
    """`session/update` is not a default place even if it carried mcpServers-like data."""
    msg = {
        "jsonrpc": "2.0",
        "method": "session/update",
        "params": {"mcpServers": [stdio_server({"A": "b"})]},
    }

    assert DEFAULTS.message(A2C, msg, None) == (msg, ())


# --- user keys and patterns --------------------------------------------------------------


def test_redact_key_matches_nested_keys_in_any_case() -> None:
    """`--redact-key api_key` hits `API_KEY` and `Api_Key` at any depth, whatever the value."""
    red = redactor(defaults=False, keys=("api_key",))
    msg = request("session/prompt", {"a": {"API_KEY": "x", "list": [{"Api_Key": {"deep": 1}}]}})

    new, paths = red.message(C2A, msg, None)

    assert new["params"] == {"a": {"API_KEY": R, "list": [{"Api_Key": R}]}}
    assert paths == ("params.a.API_KEY", "params.a.list[0].Api_Key")


def test_redact_key_matches_name_value_pairs() -> None:
    """`--redact-key HOME` redacts `{"name": "home", "value": X}` pairs' value, keeping the name."""
    red = redactor(defaults=False, keys=("HOME",))
    msg = request(
        "_x/y", {"vars": [{"name": "home", "value": "/root"}, {"name": "PATH", "value": "/bin"}]}
    )

    new, paths = red.message(C2A, msg, None)

    assert new["params"]["vars"] == [
        {"name": "home", "value": R},
        {"name": "PATH", "value": "/bin"},
    ]
    assert paths == ("params.vars[0].value",)


def test_redact_key_never_touches_the_envelope() -> None:
    """Keys named like envelope members are redacted inside params only."""
    red = redactor(defaults=False, keys=("id", "method"))
    msg = request("session/cancel", {"id": 5, "method": "m"}, msg_id=9)

    new, paths = red.message(C2A, msg, None)

    assert new == request("session/cancel", {"id": R, "method": R}, msg_id=9)
    assert paths == ("params.id", "params.method")


def test_redact_regex_inside_nested_strings() -> None:
    """Every match in any nested string is replaced; one path per string."""
    red = redactor(defaults=False, patterns=("sk-[a-z0-9]+",))
    msg = {
        "jsonrpc": "2.0",
        "method": "session/update",
        "params": {
            "update": {"content": [{"text": "use sk-abc or sk-def2 now"}, {"text": "none"}]}
        },
    }

    new, paths = red.message(A2C, msg, None)

    assert new["params"]["update"]["content"] == [{"text": f"use {R} or {R} now"}, {"text": "none"}]
    assert paths == ("params.update.content[0].text",)


def test_redact_regex_on_text_lines() -> None:
    """Text and stderr lines get the patterns; the path is `text`."""
    red = redactor(patterns=("(?i)bearer \\S+", "sk-\\w+"))

    assert red.text("auth: Bearer abc.def key=sk-1 ok") == (f"auth: {R} key={R} ok", ("text",))
    assert red.text("nothing here") == ("nothing here", ())


def test_regex_never_eats_the_placeholder() -> None:
    """A pattern that matches inside `[REDACTED]` leaves existing placeholders intact."""
    red = redactor(defaults=False, patterns=("[A-Z]{5,}", "RED"))

    once, _ = red.text("key ABCDEFG and [REDACTED] and RED")
    twice, paths = red.text(once)

    assert once == f"key {R} and {R} and {R}"
    assert (twice, paths) == (once, ())


def test_regex_result_is_a_fixed_point_even_with_anchors() -> None:
    """Patterns whose matches depend on context are applied until nothing more matches."""
    red = redactor(defaults=False, patterns=(r"\bab\b", "cd"))

    once, _ = red.text("abcd")

    assert once == f"{R}{R}"
    assert red.text(once) == (once, ())


def test_empty_matches_are_ignored() -> None:
    """A pattern that can match the empty string only redacts non-empty matches."""
    red = redactor(defaults=False, patterns=("x*",))

    assert red.text("axxb") == (f"a{R}b", ("text",))


def test_regex_does_not_change_the_envelope_or_keys() -> None:
    """`method`, `id`, `jsonrpc` and object keys are never rewritten by patterns."""
    red = redactor(defaults=False, patterns=(".+",))
    msg = request("session/new", {"cwd": "/w"}, msg_id="abc")

    new, paths = red.message(C2A, msg, None)

    assert new == request("session/new", {"cwd": R}, msg_id="abc")
    assert paths == ("params.cwd",)


def test_paths_quote_keys_that_are_not_plain_names() -> None:
    """Keys with dots, brackets, spaces or quotes are shown quoted."""
    assert format_path(("params", "a.b", 0, "x[1]", 'q"', "ok-1", "_meta")) == (
        'params["a.b"][0]["x[1]"]["q\\""].ok-1._meta'
    )
    assert format_path(()) == "$"
    assert format_path((2, "a")) == "[2].a"


def test_non_object_messages_are_walked_too() -> None:
    """A JSON array or string line (not JSON-RPC) still gets keys and patterns."""
    red = redactor(keys=("pw",), patterns=("sk-\\w+",))

    assert red.message(ERR, [{"pw": 1}, "sk-1"], None) == ([{"pw": R}, R], ("[0].pw", "[1]"))
    assert red.message(ERR, "x sk-1", None) == (f"x {R}", ("$",))


def test_deep_nesting_does_not_overflow_the_stack() -> None:
    """Messages nested deeper than Python's recursion limit are redacted without recursion."""
    red = redactor(keys=("secret",))
    deep: Any = {"secret": "s"}
    for _ in range(5000):
        deep = [deep]

    new, paths = red.message(C2A, deep, None)

    for _ in range(5000):
        new = new[0]
    assert new == {"secret": R}
    assert paths == ("[0]" * 5000 + ".secret",)


# --- options -----------------------------------------------------------------------------


def test_invalid_regex_is_a_usage_error_naming_it() -> None:
    """A bad `--redact` names the pattern and the reason."""
    with pytest.raises(UsageError, match=re.escape("--redact 'sk-[a-z'") + ".*missing ]"):
        RedactionRules.from_options(no_redact=False, keys=(), patterns=("ok", "sk-[a-z"))


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        pytest.param(r"(a)\1", r"back-reference \1", id="backref"),
        pytest.param("(?=a)b", "look-ahead (?=...)", id="lookahead"),
        pytest.param("(?<!a)b", "negative look-behind (?<!...)", id="lookbehind"),
        pytest.param("a++", "possessive quantifier ++", id="possessive"),
        pytest.param("(?>a)", "atomic group (?>...)", id="atomic"),
    ],
)
def test_pattern_re2_cannot_run_is_refused_naming_the_construct(
    pattern: str, construct: str
) -> None:
    """Patterns that need backtracking are refused, saying which construct is the problem."""
    with pytest.raises(UsageError, match=re.escape(construct)):
        RedactionRules.from_options(no_redact=False, keys=(), patterns=(pattern,))


def test_catastrophic_pattern_runs_in_linear_time() -> None:
    """`(a+)+$` against a long run of `a`s (exponential for a backtracking engine) is instant."""
    red = redactor(defaults=False, patterns=("(a+)+$",))

    assert red.text("a" * 5000 + "!") == ("a" * 5000 + "!", ())
    assert red.text("x" + "a" * 5000) == (f"x{R}", ("text",))


@pytest.mark.parametrize(
    ("keys", "patterns", "message"),
    [
        pytest.param(("",), (), "--redact-key needs a non-empty NAME", id="empty-key"),
        pytest.param((), ("",), "--redact needs a non-empty REGEX", id="empty-regex"),
    ],
)
def test_empty_options_are_usage_errors(
    keys: tuple[str, ...], patterns: tuple[str, ...], message: str
) -> None:
    """Empty names and patterns are rejected with a message saying which option."""
    with pytest.raises(UsageError, match=re.escape(message)):
        RedactionRules.from_options(no_redact=False, keys=keys, patterns=patterns)


def test_no_redact_turns_defaults_off_but_keeps_keys_and_patterns() -> None:
    """`--no-redact` drops the default places only."""
    rules = RedactionRules.from_options(no_redact=True, keys=("K", "K"), patterns=("z+",))
    red = Redactor(rules)
    msg = request(
        "session/new", {"mcpServers": [stdio_server([{"name": "A", "value": "zz"}])], "K": 1}
    )

    new, paths = red.message(C2A, msg, None)

    assert rules == RedactionRules(defaults=False, keys=("K",), patterns=("z+",))
    assert rules.describe() == ("key:K", "regex#1")
    assert rules.active
    assert new["params"] == {"mcpServers": [stdio_server([{"name": "A", "value": R}])], "K": R}
    assert paths == ("params.K", "params.mcpServers[0].env[0].value")


def test_describe_and_active() -> None:
    """The header lists every default rule by name, keys, and regexes by number only."""
    rules = RedactionRules.from_options(
        no_redact=False, keys=("API_KEY",), patterns=("sk-[a-z]+", "hunter2")
    )

    described = rules.describe()
    assert described[:2] == ("default-places", "credential-keys")
    assert {
        "anthropic-api-key",
        "openai-api-key",
        "aws-access-token",
        "aws-secret-access-key",
        "github-pat",
        "gitlab-pat",
        "slack-bot-token",
        "gcp-api-key",
        "jwt",
        "private-key",
        "authorization-header",
        "bearer-token",
        "basic-credentials",
        "url-credential-parameter",
    } <= set(described)
    assert described[-3:] == ("key:API_KEY", "regex#1", "regex#2")
    assert not any("sk-" in item or "hunter" in item for item in described)
    assert not RedactionRules(defaults=False).active
    assert RedactionRules(defaults=False).describe() == ()


@pytest.mark.parametrize(
    ("rules", "direction", "method", "answers", "expected"),
    [
        pytest.param(RedactionRules(), A2C, "session/update", None, False, id="update"),
        pytest.param(RedactionRules(), C2A, "session/prompt", None, False, id="prompt"),
        pytest.param(RedactionRules(), C2A, None, "fs/read_text_file", False, id="file-result"),
        pytest.param(RedactionRules(), C2A, None, None, False, id="unknown-response"),
        pytest.param(RedactionRules(), C2A, None, "_kiro.dev/auth/token", True, id="token-result"),
        pytest.param(RedactionRules(), A2C, None, "_kiro.dev/auth/token", False, id="agent-result"),
        pytest.param(RedactionRules(), C2A, "authenticate", None, True, id="authenticate"),
        pytest.param(RedactionRules(), C2A, "session/new", None, True, id="new"),
        pytest.param(RedactionRules(), A2C, "_kiro.dev/metadata", None, True, id="extension"),
        pytest.param(RedactionRules(defaults=False), C2A, "authenticate", None, False, id="off"),
        pytest.param(RedactionRules(keys=("k",)), A2C, "session/update", None, True, id="keys"),
        pytest.param(RedactionRules(patterns=("p",)), ERR, None, None, True, id="patterns"),
    ],
)
def test_may_apply(
    rules: RedactionRules,
    direction: Direction,
    method: str | None,
    answers: str | None,
    expected: bool,
) -> None:
    """The pre-check skips bulk traffic whose raw line holds no anchor of any secret rule."""
    clean = b'{"jsonrpc":"2.0","method":"x","params":{"text":"hello","maxTokens":3}}'
    secret = b'{"jsonrpc":"2.0","method":"x","params":{"text":"ghp_x"}}'
    red = Redactor(rules)

    assert red.may_apply(direction, method, answers, clean) is expected
    assert red.may_apply(direction, method, answers, secret) is rules.active
    assert red.may_apply(direction, method, answers) is rules.active


# --- properties --------------------------------------------------------------------------

json_leaf = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=16,
)
secretish = st.sampled_from(
    ["sk-abc", "ABCDEFG", "ab", "cd", "[REDACTED]", "x", "ab cd", ""]
) | st.text(alphabet="abcdksABCDE-[]RED ", max_size=12)
names = st.sampled_from(["API_KEY", "api_key", "token", "HOME", "value", "name", "env"])
env_lists = st.lists(
    st.fixed_dictionaries({"name": names, "value": secretish | json_value})
    | secretish.map(lambda s: f"K={s}"),
    max_size=3,
)
env_dicts = st.dictionaries(names, secretish | json_value, max_size=3)
servers = st.fixed_dictionaries(
    {"name": st.text(max_size=4)},
    optional={
        "env": env_lists | env_dicts | json_value,
        "headers": env_lists | env_dicts,
        "x": json_value,
    },
)
params = st.fixed_dictionaries(
    {},
    optional={
        "mcpServers": st.lists(servers, max_size=3)
        | st.dictionaries(st.text(max_size=4), servers, max_size=2),
        "env": env_lists | env_dicts,
        "methodId": secretish,
        "apiKey": secretish | json_value,
        "_meta": json_value,
        "text": secretish,
        "nested": st.dictionaries(names, secretish | json_value, max_size=3),
    },
)
methods = st.sampled_from(
    [
        "session/new",
        "session/load",
        "session/resume",
        "terminal/create",
        "authenticate",
        "session/update",
        "session/prompt",
        "fs/read_text_file",
        "_kiro.dev/auth/token",
        "_vendor/ext",
    ]
)
requests = st.builds(
    lambda method, p, msg_id: {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": p},
    methods,
    params | json_value,
    st.integers() | st.text(max_size=4),
)
notifications = st.builds(
    lambda method, p: {"jsonrpc": "2.0", "method": method, "params": p}, methods, params
)
responses = st.builds(
    lambda msg_id, result: {"jsonrpc": "2.0", "id": msg_id, "result": result},
    st.integers() | secretish,
    params | json_value,
)
messages = requests | notifications | responses | json_value
rule_sets = st.builds(
    RedactionRules,
    defaults=st.booleans(),
    keys=st.lists(names, max_size=2, unique=True).map(tuple),
    patterns=st.lists(
        st.sampled_from(
            ["sk-[a-z]+", "[A-Z]{5,}", r"\S+", "RED", "a$|b", r"\bab\b", "cd", "x*", "D\\]"]
        ),
        max_size=3,
        unique=True,
    ).map(tuple),
)
directions = st.sampled_from(list(Direction))
answers_st = st.none() | methods | st.sampled_from(["_kiro.dev/auth/token", "x/Password"])


def raw_method(msg: Any) -> str | None:
    """The `method` member as the caller passes it to may_apply."""
    method = msg.get("method") if isinstance(msg, dict) else None
    return method if isinstance(method, str) else None


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets, direction=directions, msg=messages, answers=answers_st)
def test_message_never_mutates_its_input(
    rules: RedactionRules, direction: Direction, msg: Any, answers: str | None
) -> None:
    """The decoded message given to `message` is left exactly as it was."""
    before = copy.deepcopy(msg)

    Redactor(rules).message(direction, msg, answers)

    assert msg == before
    assert json.dumps(msg) == json.dumps(before)  # same key order too


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets, direction=directions, msg=messages, answers=answers_st)
def test_redaction_is_idempotent(
    rules: RedactionRules, direction: Direction, msg: Any, answers: str | None
) -> None:
    """Redacting an already redacted message changes nothing and reports no path."""
    red = Redactor(rules)
    once, _ = red.message(direction, msg, answers)

    twice, paths = red.message(direction, once, answers)

    assert twice == once
    assert twice is once
    assert paths == ()


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets, direction=directions, msg=messages, answers=answers_st)
def test_may_apply_is_never_false_when_message_changes_something(
    rules: RedactionRules, direction: Direction, msg: Any, answers: str | None
) -> None:
    """`may_apply` False implies `message` returns the same object and no path."""
    red = Redactor(rules)

    new, paths = red.message(direction, msg, answers)

    assert (new is msg) == (paths == ())
    if not red.may_apply(direction, raw_method(msg), answers):
        assert new is msg


def non_envelope_strings(value: Any, top: bool = True) -> list[str]:
    """Every string value a pattern may rewrite."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in non_envelope_strings(item, False)]
    if isinstance(value, dict):
        return [
            s
            for key, item in value.items()
            if not (top and key in ("jsonrpc", "id", "method"))
            for s in non_envelope_strings(item, False)
        ]
    return []


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets, direction=directions, msg=messages, answers=answers_st)
def test_no_pattern_match_survives_outside_placeholders(
    rules: RedactionRules, direction: Direction, msg: Any, answers: str | None
) -> None:
    """After redaction no pattern matches non-empty text outside a placeholder."""
    new, _ = Redactor(rules).message(direction, msg, answers)

    for text in non_envelope_strings(new):
        for pattern in rules.patterns:
            for piece in text.split(R):
                assert all(not m.group() for m in re.finditer(pattern, piece)), (pattern, text)


@settings(max_examples=200, deadline=None)
@given(rules=rule_sets, msg=requests)
def test_envelope_is_always_kept(rules: RedactionRules, msg: dict[str, Any]) -> None:
    """`jsonrpc`, `id`, `method` and the top-level key order survive every rule."""
    new, _ = Redactor(rules).message(C2A, msg, None)

    assert list(new) == list(msg)
    assert (new["jsonrpc"], new["id"], new["method"]) == (msg["jsonrpc"], msg["id"], msg["method"])


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="abcdksABCDEFG-[]RED x", max_size=30), rules=rule_sets)
def test_text_redaction_is_idempotent(text: str, rules: RedactionRules) -> None:
    """Text lines reach a fixed point in one call."""
    red = Redactor(rules)
    once, _ = red.text(text)

    assert red.text(once) == (once, ())


# --- frames ------------------------------------------------------------------------------


def json_frame(msg: Any, direction: Direction = C2A, **kw: Any) -> Frame:
    """A JSON frame whose raw bytes are the message as a client would write it."""
    raw = json.dumps(msg).encode()
    return Frame(seq=4, t=0.5, dir=direction, raw=raw, payload=Payload.JSON, **kw)


def test_json_frame_is_reserialised_and_marked() -> None:
    """A redacted JSON frame gets compact raw bytes, the paths and the new parsed message."""
    msg = request("authenticate", {"methodId": "k", "key": "é-secret"})
    frame = json_frame(msg, eol=Eol.CRLF)

    new = redact_frame(DEFAULTS, frame, None)

    expected = request("authenticate", {"methodId": "k", "key": R})
    assert new.raw == json.dumps(expected, separators=(",", ":")).encode()
    assert new.redacted == ("params.key",)
    assert new.message() == expected
    assert (new.seq, new.t, new.dir, new.eol, new.payload) == (4, 0.5, C2A, Eol.CRLF, Payload.JSON)
    assert decode_line(encode_frame_bytes(new)) == new


def test_json_frame_from_a_cassette_is_redacted_without_parsed() -> None:
    """A frame read back from a cassette (raw only) is decoded and redacted."""
    frame = json_frame(request("session/new", {"mcpServers": [stdio_server({"K": "v"})]}))
    frame = attrs.evolve(frame, parsed=None)

    new = redact_frame(DEFAULTS, frame, None)

    assert new.redacted == ("params.mcpServers[0].env.K",)
    assert json.loads(new.raw)["params"]["mcpServers"][0]["env"] == {"K": R}


def test_unchanged_frames_are_returned_as_is() -> None:
    """Frames with nothing to redact (or skipped by may_apply) are the same object."""
    update = json_frame(
        {"jsonrpc": "2.0", "method": "session/update", "params": {"k": "sk-1"}}, A2C
    )
    plain = json_frame(request("session/new", {"cwd": "/w", "mcpServers": []}))

    assert redact_frame(DEFAULTS, update, None) is update
    assert redact_frame(DEFAULTS, plain, None) is plain


def test_token_response_frame_uses_answers() -> None:
    """The caller's `answers` decides whether a response frame's result is hidden."""
    frame = json_frame({"jsonrpc": "2.0", "id": "u", "result": {"expiry": "a"}})

    assert redact_frame(DEFAULTS, frame, None) is frame
    assert redact_frame(DEFAULTS, frame, "_kiro.dev/auth/token").message()["result"] == R


def test_redacting_a_marked_frame_again_keeps_its_paths() -> None:
    """New paths are merged with those already on the frame."""
    frame = json_frame(
        {"jsonrpc": "2.0", "method": "_x", "params": {"a": "sk-1", "b": "[REDACTED]"}}
    )
    frame = attrs.evolve(frame, redacted=("params.b",))

    new = redact_frame(redactor(patterns=("sk-\\d",)), frame, None)

    assert new.redacted == ("params.a", "params.b")


def test_text_and_stderr_frames_get_patterns() -> None:
    """Text frames on stdout and stderr get the regexes and the `text` mark."""
    red = redactor(patterns=("sk-\\w+",))
    for direction in (A2C, ERR):
        frame = Frame(
            7,
            1.0,
            direction,
            "loaded key sk-9 \ud800".encode("utf-8", "surrogatepass"),
            Payload.TEXT,
        )

        new = redact_frame(red, frame, None)

        assert new.raw == f"loaded key {R} \ud800".encode("utf-8", "surrogatepass")
        assert new.redacted == ("text",)
        assert (new.dir, new.payload, new.eol) == (direction, Payload.TEXT, Eol.LF)


def test_binary_frames_get_patterns_on_their_bytes() -> None:
    """b64 frames (not UTF-8) get the patterns too; the bytes that are not UTF-8 stay."""
    frame = Frame(1, 0.0, ERR, b"sk-1 \xff token=ghp_" + b"a" * 36, Payload.BINARY)

    new = redact_frame(redactor(patterns=("sk-1",)), frame, None)

    assert new.raw == b"[REDACTED] \xff token=[REDACTED]"
    assert new.redacted == ("b64",)
    assert redact_frame(redactor(), Frame(1, 0.0, ERR, b"x \xff", Payload.BINARY), None).raw == (
        b"x \xff"
    )


def test_lone_surrogate_escape_survives_reserialisation() -> None:
    """A message with an escaped lone surrogate is re-serialised with the escape kept."""
    frame = Frame(1, 0.0, C2A, b'{"method":"_x","params":{"s":"\\ud800","k":"v"}}', Payload.JSON)

    new = redact_frame(redactor(keys=("k",)), frame, None)

    assert new.raw == b'{"method":"_x","params":{"s":"\\ud800","k":"[REDACTED]"}}'
    assert new.redacted == ("params.k",)
