"""A small IAM evaluator for the statements of a synthesized template (intrinsics resolved).

Enough of IAM's policy evaluation to answer "does this policy allow this request?": ``Allow``
statements whose ``Action`` patterns (``*``/``?``, case-insensitive), ``Resource`` patterns and
``Condition`` blocks all match, and no matching ``Deny``. Conditions are evaluated against the
request context the caller gives; a key the context lacks fails its condition (IAM's rule
without ``...IfExists``). An operator this evaluator does not know fails loudly: extend it
rather than guess.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One authorization request: ``action`` on ``resource`` with its request context."""

    action: str
    resource: str = "*"
    context: Mapping[str, str] = field(default_factory=dict)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    escaped = pattern.replace("[", "[[]")
    if ignore_case:
        return fnmatch.fnmatchcase(value.lower(), escaped.lower())
    return fnmatch.fnmatchcase(value, escaped)


def _context_value(context: Mapping[str, str], key: str) -> str | None:
    for name, value in context.items():
        if name.lower() == key.lower():  # condition keys are case-insensitive
            return value
    return None


def _operator_matches(operator: str, expected: list[str], actual: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in (e.lower() for e in expected)
    if operator in ("StringLike", "ArnLike"):
        return any(_glob(pattern, actual) for pattern in expected)
    if operator == "Bool":
        return actual.lower() in (str(e).lower() for e in expected)
    raise AssertionError(f"condition operator {operator} is not supported by the evaluator")


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, block in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, expected in block.items():
            actual = _context_value(context, key)
            if actual is None:
                if if_exists:
                    continue
                return False
            if not _operator_matches(base, [str(e) for e in _listed(expected)], actual):
                return False
    return True


def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if not any(_glob(p, request.action, ignore_case=True) for p in _listed(statement["Action"])):
        return False
    if not any(_glob(str(p), request.resource) for p in _listed(statement.get("Resource", "*"))):
        return False
    return conditions_hold(statement.get("Condition", {}), request.context)


def allowed(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """IAM's answer for one policy set: an explicit deny wins, then any allow."""
    matching = [s for s in statements if statement_matches(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def principal_is(statement: Mapping[str, Any], service: str) -> bool:
    """The statement's principal includes the AWS service principal ``service``."""
    principal = statement.get("Principal", {})
    if not isinstance(principal, Mapping):
        return bool(principal == "*")
    services = [str(s) for s in _listed(principal.get("Service", []))]
    return service in services or "*" in [str(a) for a in _listed(principal.get("AWS", []))]
