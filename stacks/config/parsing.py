"""Turn the JSON of ``cdk.json`` into frozen dataclasses, or fail with one precise line.

The schema *is* the dataclasses: field names are the JSON keys, annotations are the types,
defaults make a key optional, and ``metadata["check"]`` adds a value rule. Supported
annotations: ``str``, ``int``, ``float``, ``bool``, ``Literal[...]``, ``X | None``,
``tuple[X, ...]``, ``dict[str, str]`` and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args, get_origin

T = TypeVar("T")

# A check returns None when the value is fine, else a phrase saying what is allowed.
Check = Callable[[Any], str | None]


class ConfigError(ValueError):
    """A configuration value is wrong; the message is one line: key path, value, what is allowed."""

    def __init__(self, path: str, value: object, allowed: str) -> None:
        shown = "(missing)" if value is _MISSING else repr(value)
        super().__init__(f"config error at {path}: got {shown}; {allowed}")
        self.path = path


_MISSING = object()


def field(default: Any = dataclasses.MISSING, *, check: Check | None = None, doc: str = "") -> Any:
    """A dataclass field with an optional value rule and a one-line description (for docs)."""
    metadata = {"check": check, "doc": doc}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    if dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=type(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def parse(cls: type[T], data: object, path: str) -> T:
    """Build ``cls`` from ``data`` (a JSON object), validating every key on the way."""
    if not isinstance(data, Mapping):
        raise ConfigError(path, data, "expected an object")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{path}.{unknown[0]}",
            data[unknown[0]],
            f"unknown key; allowed keys: {', '.join(fields)}",
        )
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        key_path = f"{path}.{name}"
        if name not in data:
            required = (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            )
            if required:
                raise ConfigError(
                    key_path, _MISSING, f"this key is required ({_describe(hints[name])})"
                )
            continue
        value = _convert(hints[name], data[name], key_path)
        check: Check | None = spec.metadata.get("check")
        problem = check(value) if check is not None and value is not None else None
        if problem is not None:
            raise ConfigError(key_path, data[name], problem)
        values[name] = value
    return cls(**values)


def _convert(annotation: Any, value: object, path: str) -> Any:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path)
    if origin is Literal:
        if value not in args:
            raise ConfigError(path, value, f"allowed: {', '.join(repr(a) for a in args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(path, value, f"expected a list ({_describe(annotation)})")
        return tuple(_convert(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(path, value, "expected an object of string values")
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        return parse(annotation, value, path)  # type: ignore[arg-type]
    # bool is an int in Python: refuse it where a number is wanted, and vice versa.
    if annotation is bool and not isinstance(value, bool):
        raise ConfigError(path, value, "expected true or false")
    if annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(path, value, "expected a whole number")
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, value, "expected a number")
        return float(value)
    if annotation is str and not isinstance(value, str):
        raise ConfigError(path, value, "expected a string")
    return value


def _describe(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is tuple:
        return f"a list of {_describe(get_args(annotation)[0])}"
    if dataclasses.is_dataclass(annotation):
        return "an object"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(annotation))
    return getattr(annotation, "__name__", str(annotation))


# Reusable value rules --------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A value rule: ``allowed`` documents it (docs/configuration.md), ``problem`` applies it."""

    allowed: str
    problem: Callable[[Any], str | None]

    def __call__(self, value: Any) -> str | None:
        return self.problem(value)


def matches(pattern: str, allowed: str) -> Rule:
    compiled = re.compile(pattern)
    return Rule(allowed, lambda value: None if compiled.fullmatch(str(value)) else allowed)


def between(low: float, high: float) -> Rule:
    allowed = f"allowed: from {low:g} to {high:g}"
    return Rule(allowed, lambda value: None if low <= value <= high else allowed)


def one_of(*values: int) -> Rule:
    allowed = f"allowed: {', '.join(map(str, values))}"
    return Rule(allowed, lambda value: None if value in values else allowed)


def each(item_rule: Rule) -> Rule:
    def problem(items: Any) -> str | None:
        for item in items:
            item_problem = item_rule(item)
            if item_problem is not None:
                return f"item {item!r}: {item_problem}"
        return None

    return Rule(f"each item {item_rule.allowed}", problem)


def unique_by(attribute: str) -> Rule:
    def problem(items: Any) -> str | None:
        seen = [getattr(item, attribute) for item in items]
        repeated = sorted({s for s in seen if seen.count(s) > 1})
        return f"{attribute} must be unique; repeated: {', '.join(repeated)}" if repeated else None

    return Rule(f"{attribute} must be unique", problem)
