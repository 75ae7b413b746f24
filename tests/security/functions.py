"""The platform's Lambda functions, the code that is theirs, and how to find their roles.

A function's code is its handler plus the ``mlops`` functions the handler reaches: every AWS
call made while one of those *entry points* is on the stack is a call that function makes. The
outermost entry point wins (the deploy Lambda's quota check runs ``mlops.training.quotas`` code, but
inside ``converge``, so it is the deploy function's call). Test code that prepares or inspects
the fake account runs outside every entry point and is not recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.synth import ROOT


@dataclass(frozen=True)
class Function:
    key: str  # "deploy", "studio_cleanup.is_complete", ...
    handler_dir: str  # lambdas/<handler_dir>
    stage: str | None  # the CLEANUP_STAGE of a handler deployed twice
    entry_points: tuple[tuple[str, str], ...]  # (path from the repo root, function name)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "deploy",
        "deploy",
        None,
        (
            ("lambdas/deploy/handler.py", "handler"),
            ("mlops/deployment/service.py", "process_batch"),
            ("mlops/deployment/service.py", "process_record"),
            ("mlops/deployment/deploy.py", "converge"),
        ),
    ),
    Function(
        "quota_preflight",
        "quota_preflight",
        None,
        (
            ("lambdas/quota_preflight/handler.py", "handler"),
            ("mlops/training/quotas.py", "preflight"),
        ),
    ),
    Function(
        "teardown",
        "teardown",
        None,
        (
            ("lambdas/teardown/handler.py", "handler"),
            ("mlops/teardown/scheduled.py", "run_scheduled"),
            ("mlops/teardown/__init__.py", "clean_idle"),
        ),
    ),
    Function(
        "endpoint_cleanup",
        "endpoint_cleanup",
        None,
        (
            ("lambdas/endpoint_cleanup/handler.py", "handler"),
            ("mlops/teardown/custom_resource.py", "handle"),
            ("mlops/teardown/__init__.py", "delete_endpoints"),
        ),
    ),
    Function(
        "experiment_logger",
        "experiment_logger",
        None,
        (
            ("lambdas/experiment_logger/handler.py", "handler"),
            ("mlops/experiments/step.py", "handle"),
        ),
    ),
    Function(
        "studio_cleanup.on_event",
        "studio_cleanup",
        "on_event",
        (("lambdas/studio_cleanup/handler.py", "on_event"),),
    ),
    Function(
        "studio_cleanup.is_complete",
        "studio_cleanup",
        "is_complete",
        (
            ("lambdas/studio_cleanup/handler.py", "is_complete"),
            ("mlops/studio.py", "delete_apps_and_spaces"),
            ("mlops/studio.py", "delete_apps"),
            ("mlops/studio.py", "delete_spaces"),
            ("mlops/studio.py", "delete_domain_storage"),
            ("mlops/studio.py", "delete_file_systems"),
            ("mlops/studio.py", "delete_security_groups"),
            ("mlops/studio.py", "delete_vpc_domain_storage"),
            ("mlops/studio.py", "domains_with_storage_in"),
        ),
    ),
)
BY_KEY = {function.key: function for function in FUNCTIONS}

# (absolute file, code name) -> function key: what the recorder looks up on the stack.
ENTRY_POINTS: dict[tuple[str, str], str] = {
    (str(ROOT / path), name): function.key
    for function in FUNCTIONS
    for path, name in function.entry_points
}

_RUNS = re.compile(r"^Runs (\w+): ")


def function_roles(template: dict[str, Any]) -> dict[str, str]:
    """Function key -> logical id of its role, for the PythonFunctions of one template.

    PythonFunction describes its role as ``Runs <handler_dir>: ...``; a handler deployed twice
    tells its stage by the ``CLEANUP_STAGE`` variable.
    """
    resources = template["Resources"]
    roles: dict[str, str] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        role = properties.get("Role", {}).get("Fn::GetAtt", [None])[0]
        if role is None or role not in resources:
            continue
        match = _RUNS.match(resources[role]["Properties"].get("Description", ""))
        if not match:
            continue  # CDK's own functions (provider framework, auto-delete objects, ...)
        stage = properties.get("Environment", {}).get("Variables", {}).get("CLEANUP_STAGE")
        key = match.group(1) if stage is None else f"{match.group(1)}.{stage}"
        if key not in BY_KEY:
            raise AssertionError(f"function {key!r} is not listed in tests/security/functions.py")
        roles[key] = role
    return roles
