"""Every Python Lambda function of dev and prod has a test that runs it as it ships.

The table names, per function (its key in tests/security/functions.py), the test module that
runs it from the synthesized assembly with ``tests.shipped.lambdas.invoke`` (a success case
and a bad-input case, with ``least_privilege_key`` set). A function added to a template
without a row, or a row whose function is gone, fails here.
"""

from __future__ import annotations

import pytest

from tests.security.functions import function_roles
from tests.synth import ROOT, Synthesized

SHIPPED_TESTS = {
    "deploy": "tests/deployment/test_shipped.py",
    "quota_preflight": "tests/training/test_preflight_handler.py",
    "experiment_logger": "tests/experiments/test_shipped_logger.py",
    "teardown": "tests/teardown/test_shipped_teardown.py",
    "endpoint_cleanup": "tests/teardown/test_shipped_endpoint_cleanup.py",
    "studio_cleanup.on_event": "tests/studio/test_shipped_cleanup.py",
    "studio_cleanup.is_complete": "tests/studio/test_shipped_cleanup.py",
}


def _python_functions(synthesized: Synthesized) -> set[str]:
    """Keys of the Python functions in the templates, found from the functions themselves."""
    assembly = synthesized.assembly
    found = set()
    for part, template in assembly.templates.items():
        role_keys = {role: key for key, role in function_roles(template).items()}
        for function in assembly.functions(part):
            if not function.runtime.startswith("python"):
                continue  # CDK's own Node.js handlers (provider framework, auto-delete, ...)
            role = template["Resources"][function.logical_id]["Properties"]["Role"]
            key = role_keys.get(role["Fn::GetAtt"][0])
            assert key, f"{part}.{function.logical_id} is not a PythonFunction of functions.py"
            found.add(key)
    return found


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_python_function_has_a_shipped_run_test(
    env: str, request: pytest.FixtureRequest
) -> None:
    assert _python_functions(request.getfixturevalue(env)) == set(SHIPPED_TESTS)


@pytest.mark.parametrize("key", sorted(SHIPPED_TESTS))
def test_the_shipped_run_records_its_calls_for_least_privilege(key: str) -> None:
    source = (ROOT / SHIPPED_TESTS[key]).read_text()
    assert "tests.shipped.lambdas import" in source
    assert f'least_privilege_key="{key}"' in source
