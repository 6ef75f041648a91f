"""JSON-RPC ids spliced into recorded bytes (matching/ids.py) and permission outcomes moved to
the live agent's options (rerun/answers.py): the cases a mutation pass found untested."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acp_tap.cassette.codec import dumps_compact
from acp_tap.matching.ids import id_key, with_id
from acp_tap.rerun.answers import permission_result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b'{"id":1,"result":{}}', b'{"id":"new","result":{}}', id="first"),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"result":{}}',
            b'{"jsonrpc":"2.0","id":"new","result":{}}',
            id="after-jsonrpc",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","result":{"id":5,"x":"\\"id\\":6"},"id":1}',
            b'{"jsonrpc":"2.0","result":{"id":5,"x":"\\"id\\":6"},"id":"new"}',
            id="last-after-a-nested-id",
        ),
        pytest.param(
            '{"params":{"t":"ééé😀"},"id":3,"method":"m"}'.encode(),
            '{"params":{"t":"ééé😀"},"id":"new","method":"m"}'.encode(),
            id="after-non-ascii-text",
        ),
        pytest.param(
            b'{ "method" : "a\\"id" ,\n\t"id" : "x\\"y" }',
            b'{ "method" : "a\\"id" ,\n\t"id" : "new" }',
            id="spaces-and-escaped-quotes",
        ),
        pytest.param(
            b'{"result":1,"\\u0069d":7}', b'{"result":1,"\\u0069d":"new"}', id="escaped-key"
        ),
        pytest.param(
            b'{"error":{"code":1},"id":null}', b'{"error":{"code":1},"id":"new"}', id="null"
        ),
        pytest.param(b'{"result":[],"id":-1.5e3}', b'{"result":[],"id":"new"}', id="float"),
        pytest.param(b'{"result":{"id":1}}', b'{"result":{"id":1}}', id="no-top-level-id"),
        pytest.param(b'[{"id":1}]', b'[{"id":1}]', id="not-an-object"),
    ],
)
def test_the_top_level_id_is_replaced_wherever_it_is(raw: bytes, expected: bytes) -> None:
    """Only the top-level id's value changes, first member or not; every other byte stays."""
    assert with_id(raw, "new") == expected


members = st.dictionaries(
    st.text(max_size=6).filter(lambda k: k != "id"),
    st.recursive(
        st.none() | st.integers() | st.text(max_size=6),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.just("id"), inner),
        max_leaves=6,
    ),
    max_size=4,
)


@given(
    before=members,
    after=members,
    old=st.integers() | st.text(max_size=5) | st.none(),
    new=st.integers() | st.text(max_size=5),
    ascii_only=st.booleans(),
)
def test_splicing_equals_rewriting_the_id(
    before: dict[str, Any], after: dict[str, Any], old: Any, new: Any, ascii_only: bool
) -> None:
    """For any members around it (nested "id"s included), the splice gives the message with
    the new id, and keeps every byte before and after the id's value."""
    after = {k: v for k, v in after.items() if k not in before}

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    head = (dumps(before)[:-1] + ", " if before else "{") + '"id": '
    tail = ", " + dumps(after)[1:] if after else "}"
    raw = (head + dumps(old) + tail).encode()
    spliced = with_id(raw, new)
    assert spliced == (head + dumps_compact(new).decode() + tail).encode()
    assert json.loads(spliced) == {**before, "id": new, **after}


def test_id_keys_keep_the_json_type() -> None:
    """1 and "1" are different ids."""
    assert id_key(1) != id_key("1")
    assert id_key("a") == id_key("a")


def options(*rows: tuple[str, str, str]) -> dict[str, Any]:
    return {"options": [{"optionId": i, "name": n, "kind": k} for i, n, k in rows]}


RECORDED = options(
    ("allow", "Allow", "allow_once"),
    ("allow-file", "Allow for this file", "allow_once"),
    ("always", "Always allow", "allow_always"),
    ("reject", "Reject", "reject_once"),
)


def chose(option: str) -> dict[str, Any]:
    return {"outcome": {"outcome": "selected", "optionId": option}}


@pytest.mark.parametrize(
    ("chosen", "live", "expected"),
    [
        pytest.param(
            "allow-file",
            options(("o1", "Allow", "allow_once"), ("o2", "Allow for this file", "allow_once")),
            "o2",
            id="same-kind-told-apart-by-name",
        ),
        pytest.param(
            "allow-file",
            options(
                ("o1", "Allow for this file", "allow_once"), ("allow-file", "Yes", "allow_once")
            ),
            "allow-file",
            id="the-same-id-first",
        ),
        pytest.param(
            "allow-file",
            options(("o1", "Yes", "allow_once"), ("o2", "Sure", "allow_once")),
            "o1",
            id="else-the-first-of-the-kind",
        ),
        pytest.param(
            "allow",
            options(("o1", "Allow", "allow_always"), ("o2", "Go", "allow_once")),
            "o2",
            id="the-kind-before-the-name",
        ),
        pytest.param(
            "always", options(("o1", "Allow", "allow_once")), "always", id="no-such-kind-kept"
        ),
    ],
)
def test_a_permission_answer_picks_the_live_option_like_the_recorded_one(
    chosen: str, live: dict[str, Any], expected: str
) -> None:
    """The live option of the recorded one's kind; among several, the same id, else the same
    name, else the first; with none of that kind, the recorded answer as it was."""
    answer = permission_result(chose(chosen), RECORDED, live)
    assert answer == chose(expected)


def test_a_cancelled_permission_answer_is_kept() -> None:
    """An outcome without an option is kept as recorded."""
    cancelled = {"outcome": {"outcome": "cancelled"}}
    live = options(("o1", "Allow", "allow_once"))
    assert permission_result(cancelled, RECORDED, live) == cancelled
