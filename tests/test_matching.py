"""Normalisation, keys, ignore paths, closest match, diffs and relocation (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acp_tap.errors import UsageError
from acp_tap.matching.diff import MISSING, Difference, differences, render_block, shorten_pair
from acp_tap.matching.index import CLOSEST_CANDIDATES, MatchIndex
from acp_tap.matching.normal import ANY, IGNORED, IgnorePath, Normaliser, Redactions
from acp_tap.matching.relocation import Relocation

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


def key(message: Any, *ignore: str) -> bytes:
    normaliser = Normaliser.from_paths(ignore)
    return normaliser.key(normaliser.normalise(message))


def test_ids_and_jsonrpc_are_not_compared() -> None:
    """Two requests differing only in id (and its JSON type) and jsonrpc have one key."""
    a = {"jsonrpc": "2.0", "id": 1, "method": "m", "params": {"x": 1}}
    b = {"id": "1", "method": "m", "params": {"x": 1}}
    assert key(a) == key(b)


def test_member_order_is_not_compared() -> None:
    """Object member order does not change the key."""
    assert key({"method": "m", "params": {"a": 1, "b": 2}}) == key(
        {"params": {"b": 2, "a": 1}, "method": "m"}
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(1, 1.0, id="int-vs-float"),
        pytest.param(1, True, id="int-vs-bool"),
        pytest.param("1", 1, id="string-vs-number"),
        pytest.param([1, 2], [2, 1], id="list-order"),
        pytest.param(None, MISSING, id="null-vs-missing"),
    ],
)
def test_values_are_compared_strictly(a: Any, b: Any) -> None:
    """Values equal in Python but different in JSON have different keys and a difference."""
    left = {"method": "m", "params": {"v": a}}
    right = {"method": "m", "params": {} if b is MISSING else {"v": b}}
    assert key(left) != key(right)
    paths = [d.path for d in differences(left, right)]
    assert paths
    assert all(path.startswith("params.v") for path in paths)


def test_trace_context_in_meta_is_dropped_anywhere() -> None:
    """traceparent, tracestate, baggage and *trace* keys of any _meta are ignored."""
    plain = {"method": "m", "params": {"x": [{"y": 1}]}}
    traced = {
        "method": "m",
        "params": {
            "_meta": {"traceparent": "00-a-b-01", "tracestate": "k=v", "baggage": "b=1"},
            "x": [{"y": 1, "_meta": {"x-trace-id": "abc", "openTelemetryTrace": 1}}],
        },
    }
    assert key(plain) == key(traced)


def test_other_meta_keys_are_compared() -> None:
    """Non-trace _meta members still count."""
    a = {"method": "m", "params": {"_meta": {"traceparent": "t", "kiro": 1}}}
    b = {"method": "m", "params": {"_meta": {"traceparent": "u", "kiro": 2}}}
    assert key(a) != key(b)
    assert key(a) == key({"method": "m", "params": {"_meta": {"kiro": 1}}})


def test_normalising_never_mutates_the_message() -> None:
    """The recorded message (shared with the frame) is copied, not changed."""
    message = {"id": 1, "method": "m", "params": {"_meta": {"traceparent": "t"}, "a": [1, 2]}}
    before = json.dumps(message)
    Normaliser.from_paths(["params.a[0]", "params.*"]).normalise(message)
    assert json.dumps(message) == before


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        pytest.param("params.clientInfo.version", ("params", "clientInfo", "version"), id="dotted"),
        pytest.param("params.prompt[0].text", ("params", "prompt", 0, "text"), id="index"),
        pytest.param("params.prompt[*].text", ("params", "prompt", ANY, "text"), id="every-item"),
        pytest.param("params.*.x", ("params", ANY, "x"), id="every-member"),
        pytest.param('params._meta["kiro.dev/x"]', ("params", "_meta", "kiro.dev/x"), id="quoted"),
        pytest.param("a[1][2]", ("a", 1, 2), id="nested-index"),
    ],
)
def test_ignore_path_syntax(path: str, steps: tuple[Any, ...]) -> None:
    """Ignore paths parse into steps."""
    assert steps == IgnorePath.parse(path).steps


@pytest.mark.parametrize("path", ["", ".a", "a..b", "a[", "a[x]", "a]"])
def test_bad_ignore_paths_are_usage_errors(path: str) -> None:
    """A path that does not parse is a UsageError that shows the expected syntax."""
    with pytest.raises(UsageError, match="--ignore"):
        IgnorePath.parse(path)


def test_ignored_member_may_differ_or_be_absent() -> None:
    """An ignored member is removed: different or missing values match."""
    a = {"method": "initialize", "params": {"clientInfo": {"name": "c", "version": "1.0"}}}
    b = {"method": "initialize", "params": {"clientInfo": {"name": "c", "version": "2.0"}}}
    c = {"method": "initialize", "params": {"clientInfo": {"name": "c"}}}
    ignore = "params.clientInfo.version"
    assert key(a, ignore) == key(b, ignore) == key(c, ignore)
    assert key(a) != key(b)


def test_ignored_list_item_keeps_its_place() -> None:
    """An ignored list item is blanked, not removed, so the list length still counts."""
    normal = Normaliser.from_paths(["params.p[1]"]).normalise({"params": {"p": [1, 2, 3]}})
    assert normal == {"params": {"p": [1, IGNORED, 3]}}
    assert key({"params": {"p": [1, 2]}}, "params.p[1]") != key(
        {"params": {"p": [1, 2, 3]}}, "params.p[1]"
    )


def test_wildcard_ignores_every_item() -> None:
    """[*] applies a path to every item of a list."""
    a = {"params": {"p": [{"t": 1, "k": "a"}, {"t": 2, "k": "b"}]}}
    b = {"params": {"p": [{"t": 9, "k": "a"}, {"t": 8, "k": "b"}]}}
    assert key(a, "params.p[*].t") == key(b, "params.p[*].t")


def test_redacted_paths_are_left_out_of_their_own_message_only() -> None:
    """A message's redacted paths are left out of it; another is compared whole."""
    normaliser = Normaliser()
    paths = (IgnorePath.parse("params.token"),)
    auth = normaliser.normalise(
        {"method": "authenticate", "params": {"token": "x", "m": 1}}, None, paths
    )
    other = normaliser.normalise({"method": "authenticate", "params": {"token": "x"}})
    assert auth == {"method": "authenticate", "params": {"m": 1}}
    assert other == {"method": "authenticate", "params": {"token": "x"}}
    assert normaliser.key(auth, paths) != normaliser.key(auth)


def test_redactions_give_each_method_its_sets_of_paths() -> None:
    """A method recorded with redacted paths is looked up with and without each set."""
    redactions = Redactions.of(
        [("authenticate", ("params.token",)), ("authenticate", ()), ("other", ())]
    )
    [none, token] = redactions.sets("authenticate")
    assert (none, [p.text for p in token]) == ((), ["params.token"])
    assert redactions.sets("other") == ((),)
    assert redactions.sets("never") == ((),)


@given(json_values, json_values)
def test_equal_keys_iff_no_differences(a: Any, b: Any) -> None:
    """The key and the structured diff agree on what is equal."""
    left, right = {"method": "m", "params": a}, {"method": "m", "params": b}
    assert (key(left) == key(right)) == (differences(left, right) == [])


def test_differences_name_paths_in_document_order() -> None:
    """Changed, missing and extra members and items are listed with their paths."""
    expected = {"params": {"a": 1, "b": [1, 2], "c": {"d": "x"}}}
    got = {"params": {"a": 2, "b": [1], "c": {"d": "x", "e": True}}}
    assert differences(expected, got) == [
        Difference("params.a", 1, 2),
        Difference("params.b[1]", 2, MISSING),
        Difference("params.c.e", MISSING, True),
    ]


def test_differences_are_bounded() -> None:
    """At most ``limit`` differences are computed."""
    assert len(differences(list(range(100)), list(range(1, 101)), limit=5)) == 5


def test_keys_with_dots_render_quoted() -> None:
    """A member name that is not a plain word is rendered in the --ignore bracket syntax."""
    diff = differences({"_meta": {"kiro.dev/x": 1}}, {"_meta": {"kiro.dev/x": 2}})[0]
    assert diff.path == '_meta["kiro.dev/x"]'
    assert IgnorePath.parse(diff.path).steps == ("_meta", "kiro.dev/x")


def test_long_strings_are_shown_around_the_first_difference() -> None:
    """Two long strings render as windows that contain where they differ."""
    a = "x" * 200 + "hello" + "y" * 200
    b = "x" * 200 + "hullo" + "y" * 200
    left, right = shorten_pair(a, b)
    assert "hello" in left
    assert "hullo" in right
    assert left.startswith("…")
    assert len(left) < 70


def test_render_block_is_a_readable_diff() -> None:
    """The stderr rendering shows each path with - expected and + got lines."""
    text = render_block([Difference("params.x", "a", MISSING)], indent="")
    assert text == 'params.x:\n  - expected "a"\n  + got      (missing)'


def test_difference_to_json_keeps_short_values() -> None:
    """Short values go into error data as JSON values; a missing side is flagged."""
    assert Difference("p", "a", MISSING).to_json() == {
        "path": "p",
        "expected": "a",
        "got": None,
        "missing": "got",
    }


def test_index_is_fifo_per_key() -> None:
    """Identical recorded messages are consumed in recorded order."""
    index = MatchIndex()
    for i in range(3):
        index.add(i, "m", b"k")
    index.add(3, "m", b"other")
    assert [index.take(b"k"), index.take(b"k"), index.take(b"k"), index.take(b"k")] == [
        0,
        1,
        2,
        None,
    ]
    assert index.recorded([b"nope", b"k"]) == b"k"
    assert index.last_of(b"k") == 2
    assert index.unused("m") == [3]


def test_repeats_cycle_through_the_recorded_messages() -> None:
    """The n-th repeat of a key is answered as the n-th recorded message with it, cycling."""
    index = MatchIndex()
    for i in range(2):
        index.add(i, "session/new", b"k")
    assert [index.take(b"k"), index.take(b"k"), index.take(b"k")] == [0, 1, None]
    assert [index.repeat(b"k") for _ in range(5)] == [0, 1, 0, 1, 0]


def test_take_first_takes_the_earliest_recorded_of_several_keys() -> None:
    """Looked up under several keys, the earliest unused recorded message is taken."""
    index = MatchIndex()
    index.add(0, "m", b"b")
    index.add(1, "m", b"a")
    index.add(2, "m", b"b")
    assert [index.take_first([b"a", b"b"]) for _ in range(4)] == [0, 1, 2, None]


def test_closest_prefers_unused_of_the_same_method() -> None:
    """The closest candidate is the unused one of the same method with fewest differences."""
    messages: dict[int, dict[str, Any]] = {
        0: {"method": "a", "params": {"x": 1, "y": 1}},
        1: {"method": "b", "params": {"x": 1, "y": 2}},
        2: {"method": "b", "params": {"x": 5, "y": 5}},
    }
    index = MatchIndex()
    for i, msg in messages.items():
        index.add(i, msg["method"], key(msg))
    got = {"method": "b", "params": {"x": 5, "y": 2}}
    closest = index.closest("b", got, messages.__getitem__)
    assert closest is not None
    assert closest.index == 1
    assert closest.differences == (Difference("params.x", 1, 5),)
    assert not closest.used


def test_closest_falls_back_to_used_then_to_any_method() -> None:
    """With no unused message of the method, a used one is named (and flagged)."""
    messages: dict[int, dict[str, Any]] = {0: {"method": "a"}, 1: {"method": "b", "params": 1}}
    index = MatchIndex()
    for i, msg in messages.items():
        index.add(i, msg["method"], key(msg))
    assert index.take(key(messages[1])) == 1
    used = index.closest("b", {"method": "b", "params": 2}, messages.__getitem__)
    assert used is not None
    assert (used.index, used.used) == (1, True)
    other = index.closest("c", {"method": "c"}, messages.__getitem__)
    assert other is not None
    assert (other.index, other.used) == (0, False)


def test_closest_work_is_capped() -> None:
    """Only a bounded number of candidates is compared, however long the recording."""
    index = MatchIndex()
    for i in range(10 * CLOSEST_CANDIDATES):
        index.add(i, "m", i.to_bytes(4, "big"))
    seen: list[int] = []

    def normal_of(i: int) -> Any:
        seen.append(i)
        return {"method": "m", "params": i}

    index.closest("m", {"method": "m", "params": -1}, normal_of)
    assert len(seen) == CLOSEST_CANDIDATES


def test_relocation_rewrites_at_path_boundaries_only() -> None:
    """A directory is rewritten where a path continues or ends, never inside a longer name."""
    reloc = Relocation()
    assert reloc.add("/rec/proj", "/live/checkout")
    data = b'{"a":"/rec/proj","b":"/rec/proj/src/x.py","c":"/rec/project","d":"file:///rec/proj/y"}'
    assert reloc.to_live(data) == (
        b'{"a":"/live/checkout","b":"/live/checkout/src/x.py","c":"/rec/project",'
        b'"d":"file:///live/checkout/y"}'
    )
    assert reloc.to_recorded(reloc.to_live(data)) == data


def test_relocation_handles_escaped_and_nested_directories() -> None:
    """JSON-escaped paths are rewritten; the longest directory wins."""
    reloc = Relocation()
    assert reloc.add("/rec/proj", "/live/a")
    assert reloc.add("/rec/proj/sub", "/elsewhere/b")
    assert reloc.to_live(b'"/rec/proj/sub/x" "/rec/proj/x"') == b'"/elsewhere/b/x" "/live/a/x"'
    windows = Relocation()
    assert windows.add("C:\\rec", "D:\\live")
    assert windows.to_live(b'"C:\\\\rec\\\\x"') == b'"D:\\\\live\\\\x"'


@pytest.mark.parametrize(
    ("recorded", "live"),
    [
        pytest.param("/same", "/same", id="equal"),
        pytest.param("/", "/live", id="root-recorded"),
        pytest.param("/rec", "/", id="root-live"),
        pytest.param("/rec/", "/rec", id="trailing-slash"),
    ],
)
def test_relocation_refuses_useless_pairs(recorded: str, live: str) -> None:
    """Identical directories and the root are never relocated."""
    reloc = Relocation()
    assert not reloc.add(recorded, live)
    assert not reloc
    assert reloc.to_live(b'"/rec/x"') == b'"/rec/x"'


def test_relocation_trial_does_not_change_the_mapping() -> None:
    """A trial rewrite leaves the relocation as it was."""
    reloc = Relocation()
    assert reloc.trial("/rec", "/live", b'"/live/x"') == b'"/rec/x"'
    assert not reloc
