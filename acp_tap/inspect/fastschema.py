"""Compile JSON Schema into plain Python predicates: a fast "is it valid?" pre-check. Pure.

The ``jsonschema`` library stays the authority (see :mod:`acp_tap.inspect.schema`): an
instance this predicate accepts is valid, and one it rejects is handed to ``jsonschema``
for the verdict and the message. ``jsonschema`` interprets the schema tree anew for each
instance (about 0.5 ms for one ``agent_message_chunk``); these closures take microseconds.

Only the keywords the ACP schema uses are compiled, with draft 2020-12 semantics as
``jsonschema`` implements them (``format`` is an annotation, ``1.0`` is an integer, ``true``
is not a number). Any other assertion keyword raises :class:`Unsupported`, and the caller
falls back to ``jsonschema`` alone for that definition.

A ``oneOf``/``anyOf`` whose branches are objects told apart by a required string ``const``
property (ACP's tagged unions: ``sessionUpdate``, ``type``, ``outcome``) is compiled to a
dictionary lookup instead of trying every branch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Predicate = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",  # an annotation unless a format checker is configured (jsonschema's default)
        "contentEncoding",
        "contentMediaType",
        "discriminator",  # OpenAPI's hint; jsonschema ignores it
    }
)
_NUMBER_TYPES = (int, float)


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this compiler does not implement."""


_TYPE_NAMES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),  # and integral floats, see Compiler._type
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
"""The Python types ``json.loads`` gives for each JSON type (``bool`` is not an ``int`` here)."""
_TYPE_TESTS: dict[str, Predicate] = {"object": lambda x: type(x) is dict}


def _unbool(x: Any) -> Any:
    return ("bool", x) if type(x) is bool else x


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema's ``const``/``enum`` use it (``true`` differs from ``1``)."""
    if type(a) is str or type(b) is str:
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(_unbool(a) == _unbool(b))


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


class Compiler:
    """Compiles schema nodes of one document; ``$ref`` targets are compiled once and shared."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = document
        self._refs: dict[str, Predicate] = {}

    def compile_ref(self, ref: str) -> Predicate:
        """The predicate for a local reference such as ``#/$defs/SessionNotification``."""
        done = self._refs.get(ref)
        if done is not None:
            return done
        target: list[Predicate] = []

        def recursive(x: Any) -> bool:  # used only by references met while compiling ``ref``
            return target[0](x)

        self._refs[ref] = recursive
        try:
            compiled = self.compile(self._resolve(ref)) or _always
        except Unsupported:
            del self._refs[ref]
            raise
        target.append(compiled)
        self._refs[ref] = compiled
        return compiled

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise Unsupported(f"non-local $ref {ref!r}")
        node: Any = self._document
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or key not in node:
                raise Unsupported(f"unresolvable $ref {ref!r}")
            node = node[key]
        return node

    def compile(self, node: Any) -> Predicate | None:
        """A predicate for ``node``, or ``None`` when the node accepts everything."""
        if node is True:
            return None
        if node is False:
            return _never
        if not isinstance(node, dict):
            raise Unsupported(f"schema node of type {type(node).__name__}")
        checks: list[Predicate] = []
        for keyword, value in node.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            check = self._keyword(keyword, value, node)
            if check is not None:
                checks.append(check)
        return _all_of(checks)

    def _keyword(self, keyword: str, value: Any, node: Mapping[str, Any]) -> Predicate | None:
        if keyword in _OBJECT_KEYWORDS:
            return self._object(node) if keyword == _first_object_keyword(node) else None
        if keyword == "type" and value == "object" and not _OBJECT_KEYWORDS.isdisjoint(node):
            return None  # checked by _object, which then rejects non-objects
        if keyword == "unevaluatedProperties" and value is True:
            return None
        compile_keyword = _KEYWORDS.get(keyword)
        if compile_keyword is None:
            raise Unsupported(f"keyword {keyword!r}")
        return compile_keyword(self, value)

    def _type(self, value: Any) -> Predicate:
        names = {value} if isinstance(value, str) else set(value)
        if not names <= _TYPE_NAMES.keys():
            raise Unsupported(f"type {value!r}")
        types = frozenset(t for n in names for t in _TYPE_NAMES[n])
        if "integer" in names and "number" not in names:  # 1.0 is an integer too
            return lambda x: type(x) in types or (type(x) is float and x.is_integer())
        if len(types) == 1:
            (only,) = types
            return lambda x: type(x) is only
        return lambda x: type(x) in types

    def _object(self, node: Mapping[str, Any]) -> Predicate | None:
        """``properties``, ``required``, ``additionalProperties`` (and ``type: object``) at once."""
        strict = node.get("type") == "object"  # non-objects fail instead of passing
        required = tuple(node.get("required", ()))
        props = {k: self.compile(v) for k, v in node.get("properties", {}).items()}
        checked = {k: p for k, p in props.items() if p is not None}
        extra = self.compile(node.get("additionalProperties", True))
        if not required and not checked and extra is None:
            return _TYPE_TESTS["object"] if strict else None
        checked_get = checked.get

        def check(x: Any) -> bool:
            if type(x) is not dict:
                return not strict
            for k in required:
                if k not in x:
                    return False
            for k, v in x.items():
                p = checked_get(k)
                if p is not None:
                    if not p(v):
                        return False
                elif extra is not None and k not in props and not extra(v):
                    return False
            return True

        return check

    def _items(self, value: Any) -> Predicate | None:
        if not isinstance(value, dict) and not isinstance(value, bool):
            raise Unsupported("items as a list (use prefixItems)")
        item = self.compile(value)
        if item is None:
            return None

        def check(x: Any) -> bool:
            if type(x) is list:
                for element in x:
                    if not item(element):
                        return False
            return True

        return check

    def _const(self, value: Any) -> Predicate:
        if type(value) is str:
            return lambda x: type(x) is str and x == value
        return lambda x: json_equal(x, value)

    def _enum(self, value: Any) -> Predicate:
        if all(type(v) is str for v in value):
            options = frozenset(value)
            return lambda x: type(x) is str and x in options
        return lambda x: any(json_equal(x, v) for v in value)

    def _minimum(self, value: Any) -> Predicate:
        return lambda x: type(x) not in _NUMBER_TYPES or x >= value

    def _maximum(self, value: Any) -> Predicate:
        return lambda x: type(x) not in _NUMBER_TYPES or x <= value

    def _min_length(self, value: Any) -> Predicate:
        return lambda x: type(x) is not str or len(x) >= value

    def _ref(self, value: Any) -> Predicate:
        return self.compile_ref(value)

    def _not(self, value: Any) -> Predicate:
        inner = self.compile(value)
        if inner is None:
            return _never
        return lambda x: not inner(x)

    def _all(self, value: Any) -> Predicate | None:
        return _all_of([p for p in (self.compile(v) for v in value) if p is not None])

    def _any(self, value: Any) -> Predicate | None:
        tagged = self._tagged(value)
        if tagged is not None:
            return tagged
        branches = [self.compile(v) for v in value]
        if any(b is None for b in branches):
            return None
        tests = tuple(b for b in branches if b is not None)

        def check(x: Any) -> bool:
            for test in tests:  # noqa: SIM110 - a loop is faster than any() on a generator
                if test(x):
                    return True
            return False

        return check

    def _one(self, value: Any) -> Predicate:
        tagged = self._tagged(value)
        if tagged is not None:
            return tagged
        tests = tuple(self.compile(v) or _always for v in value)
        return lambda x: sum(1 for t in tests if t(x)) == 1

    def _tagged(self, branches: Sequence[Any]) -> Predicate | None:
        """A lookup for a union of objects distinguished by a required ``const`` property."""
        tag = _common_tag(branches)
        if tag is None:
            return None
        dispatch: dict[str, Predicate] = {}
        for branch in branches:
            dispatch[branch["properties"][tag]["const"]] = self.compile(branch) or _always

        def check(x: Any) -> bool:
            if type(x) is not dict:
                return False
            value = x.get(tag)
            test = dispatch.get(value) if type(value) is str else None
            return test is not None and test(x)

        return check


_OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties"})


def _first_object_keyword(node: Mapping[str, Any]) -> str:
    return next(k for k in node if k in _OBJECT_KEYWORDS)


def _common_tag(branches: Sequence[Any]) -> str | None:
    """The property every branch requires to be a distinct string constant, if there is one."""
    if len(branches) < 2 or not all(isinstance(b, dict) for b in branches):
        return None
    first = branches[0]
    for tag, prop in first.get("properties", {}).items():
        seen: set[str] = set()
        for branch in branches:
            schema = branch.get("properties", {}).get(tag)
            ok = (
                branch.get("type") in ("object", ["object"])
                and tag in branch.get("required", ())
                and isinstance(schema, dict)
                and type(schema.get("const")) is str
                and schema["const"] not in seen
            )
            if not ok:
                break
            seen.add(schema["const"])
        else:
            if isinstance(prop, dict):
                return str(tag)
    return None


def _all_of(checks: list[Predicate]) -> Predicate | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    tests = tuple(checks)

    def check(x: Any) -> bool:
        for test in tests:  # noqa: SIM110 - a loop is faster than all() on a generator
            if not test(x):
                return False
        return True

    return check


_KEYWORDS: dict[str, Callable[[Compiler, Any], Predicate | None]] = {
    "type": Compiler._type,
    "items": Compiler._items,
    "const": Compiler._const,
    "enum": Compiler._enum,
    "minimum": Compiler._minimum,
    "maximum": Compiler._maximum,
    "minLength": Compiler._min_length,
    "$ref": Compiler._ref,
    "not": Compiler._not,
    "allOf": Compiler._all,
    "anyOf": Compiler._any,
    "oneOf": Compiler._one,
}
