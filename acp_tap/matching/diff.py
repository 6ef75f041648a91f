"""Structured differences between two JSON values, rendered readably. Pure; no I/O.

Used only when a client message matches no recorded one, so clarity beats speed here;
the work is still bounded (``limit`` differences, values shortened for display).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs


class _Missing:
    """The value of a member or item that is absent on one side."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
"""Stands for an absent member or list item in a :class:`Difference`."""

WIDTH = 60
"""Longest rendering of one value, in characters."""


@attrs.frozen
class Difference:
    """One place where two JSON values differ: a path, the expected and the received value."""

    path: str
    expected: Any
    got: Any

    def render(self) -> str:
        """``path: expected X, got Y`` on one line, long values shortened."""
        expected, got = shorten_pair(self.expected, self.got)
        return f"{self.path or '(whole message)'}: expected {expected}, got {got}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary for JSON-RPC error ``data``: short values as they are, long
        ones as shortened JSON text, a missing one as ``null`` with a ``missing`` flag."""
        expected, got = shorten_pair(self.expected, self.got)
        out: dict[str, Any] = {"path": self.path}
        for name, value, text in (("expected", self.expected, expected), ("got", self.got, got)):
            if value is MISSING:
                out[name] = None
                out.setdefault("missing", name)
            else:
                out[name] = value if shorten(value) == text and "…" not in text else text
        return out


def differences(expected: Any, got: Any, limit: int = 20) -> list[Difference]:
    """The paths where ``got`` differs from ``expected``, in document order, at most ``limit``.

    Types are compared strictly: ``1``, ``1.0`` and ``true`` all differ, as their JSON does.
    """
    out: list[Difference] = []
    for diff in _walk(expected, got, ""):
        out.append(diff)
        if len(out) >= limit:
            break
    return out


def _walk(expected: Any, got: Any, path: str) -> Iterator[Difference]:
    if isinstance(expected, dict) and isinstance(got, dict):
        for key, value in expected.items():
            yield from _walk(value, got.get(key, MISSING), _member(path, key))
        for key, value in got.items():
            if key not in expected:
                yield Difference(_member(path, key), MISSING, value)
    elif isinstance(expected, list) and isinstance(got, list):
        for i in range(max(len(expected), len(got))):
            left = expected[i] if i < len(expected) else MISSING
            right = got[i] if i < len(got) else MISSING
            yield from _walk(left, right, f"{path}[{i}]")
    elif type(expected) is not type(got) or expected != got:
        yield Difference(path, expected, got)


def _member(path: str, key: str) -> str:
    if key.isidentifier() or key.lstrip("_").replace("-", "").isalnum():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def shorten(value: Any, width: int = WIDTH) -> str:
    """A one-line JSON rendering of ``value``, cut to ``width`` characters."""
    if value is MISSING:
        return "(missing)"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def shorten_pair(expected: Any, got: Any, width: int = WIDTH) -> tuple[str, str]:
    """Render two values; two long strings are shown around their first difference."""
    if isinstance(expected, str) and isinstance(got, str):
        left = json.dumps(expected, ensure_ascii=False)
        right = json.dumps(got, ensure_ascii=False)
        if len(left) > width or len(right) > width:
            at = next(
                (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
                min(len(left), len(right)),
            )
            start = max(0, at - width // 3)
            return _window(left, start, width), _window(right, start, width)
    return shorten(expected, width), shorten(got, width)


def _window(text: str, start: int, width: int) -> str:
    head = "…" if start > 0 else ""
    body = text[start : start + width]
    tail = "…" if start + width < len(text) else ""
    return head + body + tail


def render_block(diffs: list[Difference], indent: str = "    ") -> str:
    """A multi-line, diff-like rendering: one ``- expected`` / ``+ got`` pair per path."""
    lines: list[str] = []
    for diff in diffs:
        expected, got = shorten_pair(diff.expected, diff.got, width=100)
        lines.append(f"{indent}{diff.path or '(whole message)'}:")
        lines.append(f"{indent}  - expected {expected}")
        lines.append(f"{indent}  + got      {got}")
    return "\n".join(lines)
