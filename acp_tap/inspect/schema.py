"""The vendored ACP v1 JSON Schema: which type each method's params and result have, and validation.

The schema types ``method`` only as a string; each ``$defs`` entry that belongs to a method
carries ``x-method`` and ``x-side`` (``agent``: handled by the agent, so sent client→agent;
``client``: sent agent→client; ``protocol``: either side). Definitions named ``…Response``
are results, the others params. Methods only in ``schema.unstable.json`` are validated
against that file and marked unstable.

Validation is by the ``jsonschema`` library (draft 2020-12), with each definition's
validator built once; a compiled pre-check (:mod:`acp_tap.inspect.fastschema`) accepts the
common valid case without it, so ``jsonschema`` is imported only when a frame fails it.
Pure: the schema files are package data, read once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs

from acp_tap.inspect.fastschema import Compiler, Predicate, Unsupported

if TYPE_CHECKING:
    import jsonschema.exceptions
    import jsonschema.protocols

SCHEMA_PACKAGE = "acp_tap"
SCHEMA_DIR = ("schemas", "v1")
_MESSAGE_LIMIT = 240


@attrs.frozen
class MethodSpec:
    """What the schema says about one method sent in one direction."""

    name: str
    side: str  # "agent", "client" or "protocol": who handles it
    params: str | None  # the $defs name of its params, if the schema names one
    result: str | None  # the $defs name of its result; None for a notification
    unstable: bool = False

    @property
    def is_request(self) -> bool:
        """Whether the method expects a response."""
        return self.result is not None


@attrs.define(eq=False)
class SchemaDocument:
    """One schema file: validates instances against its ``$defs`` entries."""

    name: str
    document: Mapping[str, Any]
    _compiler: Compiler = attrs.field(init=False)
    _validators: dict[str, jsonschema.protocols.Validator] = attrs.field(init=False, factory=dict)
    _fast: dict[str, Predicate | None] = attrs.field(init=False, factory=dict)
    fallbacks: int = attrs.field(init=False, default=0)  # pre-check said no, jsonschema said yes

    def __attrs_post_init__(self) -> None:
        self._compiler = Compiler(self.document)

    @functools.cached_property
    def _registry(self) -> Any:  # a referencing.Registry holding this document
        import referencing
        import referencing.jsonschema

        resource = referencing.Resource.from_contents(
            dict(self.document), default_specification=referencing.jsonschema.DRAFT202012
        )
        return referencing.Registry().with_resource(self._uri, resource)

    @property
    def _uri(self) -> str:
        return f"urn:acp-tap:{self.name}"

    @property
    def defs(self) -> Mapping[str, Any]:
        """The ``$defs`` table."""
        defs: Mapping[str, Any] = self.document.get("$defs", {})
        return defs

    def validator(self, def_name: str) -> jsonschema.protocols.Validator:
        """The (cached) ``jsonschema`` validator for one definition."""
        validator = self._validators.get(def_name)
        if validator is None:
            import jsonschema

            validator = jsonschema.Draft202012Validator(
                {"$ref": f"{self._uri}#/$defs/{def_name}"}, registry=self._registry
            )
            self._validators[def_name] = validator
        return validator

    def _precheck(self, def_name: str) -> Predicate | None:
        if def_name not in self._fast:
            try:
                self._fast[def_name] = self._compiler.compile_ref(f"#/$defs/{def_name}")
            except Unsupported:
                self._fast[def_name] = None
        return self._fast[def_name]

    def problem(self, def_name: str, instance: Any, where: str) -> str | None:
        """Why ``instance`` does not match ``$defs[def_name]`` (``where`` names it), or None."""
        precheck = self._precheck(def_name)
        if precheck is not None and precheck(instance):
            return None
        import jsonschema.exceptions

        error = jsonschema.exceptions.best_match(self.validator(def_name).iter_errors(instance))
        if error is None:
            self.fallbacks += 1
            return None
        return describe_error(error, where)


def describe_error(error: jsonschema.exceptions.ValidationError, where: str) -> str:
    """``where.path.to[0]: message``, cut to a readable length."""
    path, message = _focus(error)
    at = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    return f"{at}: {message}"


def _focus(error: jsonschema.exceptions.ValidationError) -> tuple[tuple[Any, ...], str]:
    """Descend into a failed union to the branch its tag selects, and say what is wrong there.

    ``best_match`` stops at "... is not valid under any of the given schemas" for ACP's
    tagged unions (``sessionUpdate``, ``type``, ``outcome``) and its string enumerations;
    the useful error is inside the branch whose ``const`` matched, or is the list of the
    constants allowed.
    """
    import jsonschema.exceptions

    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[jsonschema.exceptions.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        viable = [errs for errs in branches.values() if not any(map(_rules_out, errs))]
        if len(viable) == 1:
            best = jsonschema.exceptions.best_match(viable[0])
            assert best is not None
            error = best
            continue
        consts = [e for errs in branches.values() for e in errs if _is_const(e)]
        paths = {tuple(e.relative_path) for e in consts}
        if not viable and len(paths) == 1:
            (path,) = paths
            value = consts[0].instance
            allowed = ", ".join(repr(e.validator_value) for e in consts)
            return (*error.absolute_path, *path), f"{value!r} is not one of {allowed}"
        break
    return tuple(error.absolute_path), error.message


def _is_const(error: jsonschema.exceptions.ValidationError) -> bool:
    return error.validator == "const" and len(error.relative_path) <= 1


def _rules_out(error: jsonschema.exceptions.ValidationError) -> bool:
    """An error showing the instance is not this branch at all: wrong type or wrong tag."""
    return (error.validator == "type" and not error.relative_path) or _is_const(error)


@attrs.define(eq=False)
class AcpSchema:
    """The stable and unstable ACP v1 schema with a method table."""

    stable: SchemaDocument
    unstable: SchemaDocument | None
    _methods: dict[tuple[str, str], MethodSpec] = attrs.field(init=False, factory=dict)
    _names: set[str] = attrs.field(init=False, factory=set)

    def __attrs_post_init__(self) -> None:
        for spec in _method_specs(self.stable.defs, unstable=False):
            self._methods[spec.name, spec.side] = spec
        stable_names = {name for name, _ in self._methods}
        if self.unstable is not None:
            for spec in _method_specs(self.unstable.defs, unstable=True):
                if spec.name not in stable_names:
                    self._methods[spec.name, spec.side] = spec
        self._names = {name for name, _ in self._methods}

    def method(self, name: str, sent_by_client: bool) -> MethodSpec | None:
        """The spec of ``name`` as sent in this direction (``protocol`` methods go either way)."""
        side = "agent" if sent_by_client else "client"
        return self._methods.get((name, side)) or self._methods.get((name, "protocol"))

    def knows(self, name: str) -> bool:
        """Whether any side of the (stable or unstable) schema defines ``name``."""
        return name in self._names

    def document_for(self, spec: MethodSpec) -> SchemaDocument:
        """The schema file that defines ``spec``."""
        if spec.unstable and self.unstable is not None:
            return self.unstable
        return self.stable

    def error_problem(self, error: Any) -> str | None:
        """Why a JSON-RPC ``error`` member does not match the schema's ``Error``, or None."""
        return self.stable.problem("Error", error, "error")


def _method_specs(defs: Mapping[str, Any], *, unstable: bool) -> Iterator[MethodSpec]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for def_name, node in defs.items():
        method, side = node.get("x-method"), node.get("x-side")
        if isinstance(method, str) and isinstance(side, str):
            role = "result" if def_name.endswith("Response") else "params"
            found.setdefault((method, side), {})[role] = def_name
    for (method, side), roles in found.items():
        yield MethodSpec(method, side, roles.get("params"), roles.get("result"), unstable)


def read_schema_file(name: str) -> Any:
    """Parse one vendored file from ``acp_tap/schemas/v1``."""
    path = resources.files(SCHEMA_PACKAGE).joinpath(*SCHEMA_DIR, name)
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def load_schema() -> AcpSchema:
    """The vendored ACP v1 schema (read and indexed once per process)."""
    stable = SchemaDocument("v1", read_schema_file("schema.json"))
    unstable = SchemaDocument("v1-unstable", read_schema_file("schema.unstable.json"))
    return AcpSchema(stable, unstable)
