"""Environment contracts: each bad variable is one line naming it and what is allowed."""

from __future__ import annotations

import pytest

from mlops.environment import Variables, flag
from mlops.errors import InputError

ENVIRON = {
    "TYPE": "ml.m5.large",
    "COUNT": "3",
    "DRY_RUN": "true",
    "TOPIC": "arn:aws:sns:eu-west-1:123456789012:t",
    "SUBNETS": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    "SHIFT": "canary",
    "EMPTY": "",
}


def test_valid_values_are_parsed() -> None:
    variables = Variables(ENVIRON)
    assert variables.instance_type("TYPE") == "ml.m5.large"
    assert variables.number("COUNT", 1, 5) == 3
    assert variables.flag("DRY_RUN") is True
    assert variables.arn("TOPIC", "sns") == ENVIRON["TOPIC"]
    assert variables.ids("SUBNETS", r"subnet-[0-9a-f]{17}", most=2) == tuple(
        ENVIRON["SUBNETS"].split(",")
    )
    assert variables.choice("SHIFT", ("canary", "linear")) == "canary"
    assert variables.optional("EMPTY") is None
    assert flag(False) == "false"


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda v: v.text("MISSING"), "environment variable MISSING is not set"),
        (lambda v: v.instance_type("COUNT"), "COUNT='3' is invalid; allowed: an instance type"),
        (lambda v: v.number("COUNT", 4, 9), "allowed: a whole number from 4 to 9"),
        (lambda v: v.flag("TYPE"), "TYPE='ml.m5.large' is invalid; allowed: true or false"),
        (lambda v: v.arn("TOPIC", "sqs"), "allowed: an ARN of sqs"),
        (lambda v: v.ids("SUBNETS", r"subnet-[0-9a-f]{17}", most=1), "1 to 1 comma-separated"),
        (lambda v: v.choice("SHIFT", ("linear",)), "SHIFT='canary' is invalid; allowed: linear"),
    ],
)
def test_each_error_names_the_variable_and_what_is_allowed(read: object, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as error:
        read(Variables(ENVIRON))  # type: ignore[operator]
    assert "\n" not in str(error.value)
