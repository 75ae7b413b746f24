"""Requests checked against botocore's service model, stricter than botocore itself.

botocore validates required members and types before a request leaves; AWS also enforces each
shape's ``pattern``, ``enum``, length and range, which botocore leaves to the service. These
helpers apply them too, so a name one character too long or a value outside an enum fails a
test instead of a deployment.

Patterns use Java's ``\\p{...}`` classes in a few places; Python's ``re`` has none, so they are
read as their ASCII equivalents (letters, digits, space, printable): exact for the ASCII values
this platform sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

_UNICODE_CLASSES = {
    r"\p{L}": "a-zA-Z",
    r"\p{M}": "",
    r"\p{Z}": " ",
    r"\p{N}": "0-9",
    r"\p{S}": "$+<=>^`|~",
    r"\p{P}": "!-#%-*,-/:;?@\\[-\\]_{}",
    r"\p{Print}": "\\x20-\\x7e",
}


@cache
def _operation(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    for java, python in _UNICODE_CLASSES.items():
        inside = python if python else ""
        pattern = pattern.replace(f"[{java}]", f"[{inside}]").replace(java, inside)
    pattern = pattern.replace(r"\A", "^").replace(r"\z", "$")
    return re.compile(pattern)


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if name in value:
                _check(member, value[name], f"{path}.{name}", problems)
        return
    if kind == "list":
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            problems.append(
                f"{path}: {len(value)} items, allowed {meta.get('min', 0)}..{meta.get('max')}"
            )
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)  # type: ignore[attr-defined]
        return
    if kind == "map":
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            problems.append(f"{path}: {len(value)} entries, allowed up to {meta.get('max')}")
        for key, item in value.items():
            _check(shape.key, key, f"{path}<key>", problems)  # type: ignore[attr-defined]
            _check(shape.value, item, f"{path}.{key}", problems)  # type: ignore[attr-defined]
        return
    if kind == "string":
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} is not one of {shape.name}'s {len(enum)} values")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            problems.append(
                f"{path}: length {len(value)}, allowed {meta.get('min', 0)}..{meta.get('max')}"
            )
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
        return
    if kind in ("integer", "long", "double", "float") and not (
        meta.get("min", value) <= value <= meta.get("max", value)
    ):
        problems.append(f"{path}: {value} outside {meta.get('min')}..{meta.get('max')}")


def request_problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every way ``params`` breaks the operation's input shape (empty: valid)."""
    shape = _operation(service, operation).input_shape
    assert shape is not None, f"{operation} takes no input"
    report = ParamValidator().validate(params, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    if not problems:
        _check(shape, params, operation, problems)
    return problems


def assert_valid_request(service: str, operation: str, params: dict[str, Any]) -> None:
    problems = request_problems(service, operation, params)
    assert not problems, "\n".join(problems)


@dataclass
class Requests:
    """What a client sent, each request already checked (see :func:`checked`)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


@contextmanager
def checked(client: Any) -> Iterator[Requests]:
    """Check and record every request ``client`` makes while the block runs."""
    requests = Requests()

    def hook(params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        service = model.service_model.service_name
        assert_valid_request(service, model.name, params)
        requests.calls.append((model.name, params))

    client.meta.events.register_first("before-parameter-build", hook)
    try:
        yield requests
    finally:
        client.meta.events.unregister("before-parameter-build", hook)
