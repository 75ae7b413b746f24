"""What `cdk synth` wrote, read the way CloudFormation and the CDK asset publisher read it.

:class:`Assembly` opens a synthesized cloud assembly (the folder ``cdk.out`` or a test's
``outdir``) and answers:

* the templates, by stack part (``"deployment"`` for ``fraud-mlops-dev-deployment``);
* **intrinsics resolved with test values**: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``,
  ``Fn::Select``, ``Fn::FindInMap`` and ``Fn::GetStackOutput`` (followed into the producing
  stack's ``Outputs``, as CloudFormation does), down to the physical value of a resource, which
  :class:`PhysicalValues` invents per resource type (a bucket ``Ref`` is a name, a topic ``Ref``
  an ARN, ...) unless the test pins it to a resource it created in moto;
* **the staged assets**: the folder behind a resource's ``aws:asset:path`` metadata and the zip
  the publisher (cdk-assets) would upload for it (:meth:`Assembly.asset_zip`); every file asset
  of a stack with the bucket and key it is published to (:meth:`Assembly.file_assets`), and
  the publishing itself into a (moto) S3 (:meth:`Assembly.publish`);
* **the Lambda functions** as Lambda would run them (:class:`ShippedFunction`): code folder,
  layer folders, handler, runtime, timeout and the environment variables of the template.

Nothing here imports the project's code: it reads files only, so what it finds is what ships.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

# Every stack of this app is named fraud-mlops-<env>-<part>.
_STACK_NAME = re.compile(r"fraud-mlops-(?P<env>[a-z0-9]+)-(?P<part>[a-z]+)")
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


# The property that names a resource of a type, when the template sets it.
_NAME_PROPERTIES = {
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
}


class UnresolvedError(AssertionError):
    """An intrinsic the resolver cannot evaluate: the template uses something unexpected."""


def _token(logical_id: str, size: int = 17) -> str:
    """A stable hex token per logical id (resource ids look like ``subnet-<17 hex>``)."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:size]


@dataclass
class PhysicalValues:
    """The physical value of ``Ref``/``Fn::GetAtt`` for each resource, as AWS would return it.

    ``pinned`` maps ``"<part>.<LogicalId>"`` (a ``Ref``) or ``"<part>.<LogicalId>.<Attr>"`` (a
    ``GetAtt``) to a value: tests pin the resources they create in moto (the bucket a function
    reads, the topic it posts to). Everything else gets a well-formed invented value.
    """

    account: str = ACCOUNT
    region: str = REGION
    pinned: dict[str, str] = field(default_factory=dict)

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        where = self.region if region else ""
        account = self.account if service not in ("s3",) else ""
        return f"arn:{PARTITION}:{service}:{where}:{account}:{resource}"

    def value(
        self,
        part: str,
        logical_id: str,
        resource_type: str,
        attribute: str | None,
        properties: Mapping[str, Any] | None = None,
    ) -> str:
        key = f"{part}.{logical_id}" + (f".{attribute}" if attribute else "")
        if key in self.pinned:
            return self.pinned[key]
        # A name the template sets (AlarmName, QueueName, ...) is the name AWS uses.
        given = (properties or {}).get(_NAME_PROPERTIES.get(resource_type, ""))
        name = given if isinstance(given, str) else f"{part}-{logical_id}".lower()[:40]
        token = _token(f"{part}.{logical_id}")
        invent: dict[tuple[str, str | None], Callable[[], str]] = {
            ("AWS::S3::Bucket", None): lambda: name,
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:{PARTITION}:s3:::{name}",
            ("AWS::KMS::Key", None): lambda: f"{token[:8]}-0000-4000-8000-{token[:12]}",
            ("AWS::KMS::Key", "Arn"): lambda: self.arn(
                "kms", f"key/{token[:8]}-0000-4000-8000-{token[:12]}"
            ),
            ("AWS::SNS::Topic", None): lambda: self.arn("sns", name),
            ("AWS::SNS::Topic", "TopicArn"): lambda: self.arn("sns", name),
            ("AWS::SQS::Queue", None): lambda: (
                f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
            ),
            ("AWS::SQS::Queue", "Arn"): lambda: self.arn("sqs", name),
            ("AWS::SQS::Queue", "QueueName"): lambda: name,
            ("AWS::IAM::Role", None): lambda: name,
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:{PARTITION}:iam::{self.account}:role/{name}",
            ("AWS::Lambda::Function", None): lambda: name,
            ("AWS::Lambda::Function", "Arn"): lambda: self.arn("lambda", f"function:{name}"),
            ("AWS::EC2::VPC", None): lambda: f"vpc-{token}",
            ("AWS::EC2::VPC", "DefaultSecurityGroup"): lambda: f"sg-{token}",
            ("AWS::EC2::Subnet", None): lambda: f"subnet-{token}",
            ("AWS::EC2::SecurityGroup", None): lambda: f"sg-{token}",
            ("AWS::EC2::SecurityGroup", "GroupId"): lambda: f"sg-{token}",
            ("AWS::SageMaker::Domain", "DomainId"): lambda: f"d-{token[:12]}",
            ("AWS::SageMaker::Domain", "DomainArn"): lambda: self.arn(
                "sagemaker", f"domain/d-{token[:12]}"
            ),
            ("AWS::Events::Rule", "Arn"): lambda: self.arn("events", f"rule/{name}"),
            # The app's ARN holds a generated id, not its name (CreateMlflowApp's API reference).
            ("AWS::SageMaker::MlflowApp", "Arn"): lambda: self.arn(
                "sagemaker", f"mlflow-app/app-{token[:12].upper()}"
            ),
            ("AWS::CloudWatch::Alarm", None): lambda: name,
            ("AWS::CloudWatch::Alarm", "Arn"): lambda: self.arn("cloudwatch", f"alarm:{name}"),
            ("AWS::StepFunctions::StateMachine", None): lambda: self.arn(
                "states", f"stateMachine:{name}"
            ),
            ("AWS::StepFunctions::StateMachine", "Arn"): lambda: self.arn(
                "states", f"stateMachine:{name}"
            ),
            ("AWS::SageMaker::Pipeline", None): lambda: name,
            ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupArn"): lambda: self.arn(
                "sagemaker", f"model-package-group/{name}"
            ),
            ("AWS::Logs::LogGroup", None): lambda: f"/aws/lambda/{name}",
            ("AWS::Logs::LogGroup", "Arn"): lambda: self.arn("logs", f"log-group:{name}:*"),
        }
        maker = invent.get((resource_type, attribute))
        if maker is None:
            raise UnresolvedError(
                f"no test value for {key} ({resource_type}"
                f"{', ' + attribute if attribute else ''}): pin one in PhysicalValues.pinned"
            )
        return maker()


@dataclass(frozen=True)
class FileAsset:
    """One destination of a file asset of ``<stack>.assets.json``, as cdk-assets publishes it."""

    source: Path  # the staged file, or the staged folder that is zipped
    packaging: str  # "file" or "zip"
    bucket: str
    key: str


@dataclass(frozen=True)
class ShippedFunction:
    """One ``AWS::Lambda::Function`` of a template, as Lambda would load it."""

    part: str
    logical_id: str
    code_dir: Path  # the staged asset: what Lambda unpacks to /var/task
    layer_dirs: tuple[Path, ...]  # each staged layer: what Lambda unpacks to /opt
    handler: str  # "handler.handler"
    runtime: str
    timeout_seconds: int
    environment: Mapping[str, Any]  # the template's variables, intrinsics unresolved


class Assembly:
    """A synthesized cloud assembly (``manifest.json``, templates, staged assets)."""

    def __init__(self, outdir: Path | str) -> None:
        self.outdir = Path(outdir)
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        self.templates: dict[str, dict[str, Any]] = {}
        self.stack_names: dict[str, str] = {}  # part -> stack name
        for name, artifact in manifest["artifacts"].items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            match = _STACK_NAME.fullmatch(name)
            if not match:
                continue
            template_file = artifact["properties"]["templateFile"]
            self.templates[match["part"]] = json.loads((self.outdir / template_file).read_text())
            self.stack_names[match["part"]] = name
        self._parts_by_stack_name = {name: part for part, name in self.stack_names.items()}
        self._zips: dict[Path, Path] = {}

    # -- assets ---------------------------------------------------------------------------

    def asset_dir(self, part: str, logical_id: str) -> Path:
        """The staged asset of a resource (its ``aws:asset:path`` metadata)."""
        resource = self.templates[part]["Resources"][logical_id]
        relative = resource.get("Metadata", {}).get("aws:asset:path")
        if not relative:
            raise AssertionError(f"{part}.{logical_id} has no staged asset (aws:asset:path)")
        path: Path = self.outdir / str(relative)
        if not path.exists():
            raise AssertionError(f"{part}.{logical_id}: staged asset {path} is missing")
        return path

    def asset_zip(self, folder: Path) -> Path:
        """The zip cdk-assets would upload for a staged folder: its files, paths relative to
        the folder, in sorted order. Made once per folder, beside the assembly."""
        if folder in self._zips:
            return self._zips[folder]
        target = self.outdir / "zipped" / f"{folder.name}.zip"
        target.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        self._zips[folder] = target
        return target

    def only(self, part: str, resource_type: str) -> str:
        """The logical id of the one resource of ``resource_type`` in stack ``part`` (to pin
        its physical value in :class:`PhysicalValues`)."""
        found = [
            logical_id
            for logical_id, resource in self.templates[part]["Resources"].items()
            if resource["Type"] == resource_type
        ]
        if len(found) != 1:
            raise AssertionError(f"{part} has {len(found)} resources of type {resource_type}")
        return str(found[0])

    def file_assets(self, part: str, values: PhysicalValues | None = None) -> list[FileAsset]:
        """The file assets of stack ``part`` (``<stack>.assets.json``), bucket names resolved
        with the test account and region."""
        values = values or PhysicalValues()
        manifest_path = self.outdir / f"{self.stack_names[part]}.assets.json"
        manifest = json.loads(manifest_path.read_text())
        pseudo = {
            "AWS::AccountId": values.account,
            "AWS::Region": values.region,
            "AWS::Partition": PARTITION,
        }
        found = []
        for asset in manifest.get("files", {}).values():
            source = self.outdir / asset["source"]["path"]
            for destination in asset["destinations"].values():
                bucket = _SUB_VARIABLE.sub(lambda m: pseudo[m.group(1)], destination["bucketName"])
                found.append(
                    FileAsset(
                        source=source,
                        packaging=asset["source"].get("packaging", "file"),
                        bucket=bucket,
                        key=destination["objectKey"],
                    )
                )
        return found

    def publish(self, part: str, s3: Any, values: PhysicalValues | None = None) -> None:
        """Upload stack ``part``'s file assets with the client ``s3`` (buckets created when
        missing), as ``cdk-assets`` does before a deploy."""
        existing = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        for asset in self.file_assets(part, values):
            if asset.bucket not in existing:
                s3.create_bucket(Bucket=asset.bucket)
                existing.add(asset.bucket)
            path = asset.source if asset.packaging == "file" else self.asset_zip(asset.source)
            s3.upload_file(str(path), asset.bucket, asset.key)

    # -- Lambda functions -----------------------------------------------------------------

    def functions(self, part: str) -> list[ShippedFunction]:
        """Every Lambda function of the stack whose code is a staged asset."""
        resources = self.templates[part]["Resources"]
        found = []
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            if "aws:asset:path" not in resource.get("Metadata", {}):
                continue  # inline code (none of ours)
            properties = resource["Properties"]
            layers = []
            for layer in properties.get("Layers", []):
                if not isinstance(layer, dict) or set(layer) != {"Ref"}:
                    raise AssertionError(f"{part}.{logical_id}: layer {layer} is not of this stack")
                layers.append(self.asset_dir(part, layer["Ref"]))
            found.append(
                ShippedFunction(
                    part=part,
                    logical_id=logical_id,
                    code_dir=self.asset_dir(part, logical_id),
                    layer_dirs=tuple(layers),
                    handler=properties["Handler"],
                    runtime=properties["Runtime"],
                    timeout_seconds=int(properties.get("Timeout", 3)),
                    environment=properties.get("Environment", {}).get("Variables", {}),
                )
            )
        return found

    def function(self, part: str, logical_id_prefix: str) -> ShippedFunction:
        """The one function of ``part`` whose logical id starts with ``logical_id_prefix``."""
        matches = [f for f in self.functions(part) if f.logical_id.startswith(logical_id_prefix)]
        if len(matches) != 1:
            ids = [f.logical_id for f in self.functions(part)]
            raise AssertionError(f"{len(matches)} functions match {logical_id_prefix!r}: {ids}")
        return matches[0]

    # -- intrinsics -----------------------------------------------------------------------

    def resolve(self, part: str, node: Any, values: PhysicalValues | None = None) -> Any:
        """``node`` of stack ``part`` with every intrinsic evaluated (see module doc)."""
        return _Resolver(self, values or PhysicalValues()).resolve(part, node, {})

    def environment(
        self, function: ShippedFunction, values: PhysicalValues | None = None
    ) -> dict[str, str]:
        """The function's environment variables as Lambda would set them."""
        resolved = self.resolve(function.part, dict(function.environment), values)
        for name, value in resolved.items():
            if not isinstance(value, str):
                raise AssertionError(f"{function.logical_id}: {name} resolves to {value!r}")
        return dict(resolved)


class _Resolver:
    def __init__(self, assembly: Assembly, values: PhysicalValues) -> None:
        self.assembly = assembly
        self.values = values

    def pseudo(self, name: str, part: str) -> str | None:
        stack_name = self.assembly.stack_names[part]
        values = {
            "AWS::AccountId": self.values.account,
            "AWS::Region": self.values.region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.values.region}:"
            f"{self.values.account}:stack/{stack_name}/{_token(stack_name, 8)}-0000-4000-8000-"
            f"{_token(stack_name, 12)}",
        }
        if name not in values:
            raise UnresolvedError(f"pseudo parameter {name} is not supported by the resolver")
        return values[name]

    def resolve(self, part: str, node: Any, local: Mapping[str, Any]) -> Any:
        if isinstance(node, list):
            return [self.resolve(part, item, local) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Ref", "Fn::")):
            return {key: self.resolve(part, value, local) for key, value in node.items()}
        [(function, argument)] = node.items()
        template = self.assembly.templates[part]
        if function == "Ref":
            if argument in local:
                return local[argument]
            if argument.startswith("AWS::"):
                return self.pseudo(argument, part)
            return self.physical(part, argument, None)
        if function == "Fn::GetAtt":
            logical_id, attribute = (
                argument if isinstance(argument, list) else argument.split(".", 1)
            )
            return self.physical(part, logical_id, attribute)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(v) for v in self.resolve(part, items, local))
        if function == "Fn::Select":
            index, items = self.resolve(part, argument, local)
            return items[int(index)]
        if function == "Fn::Split":
            separator, text = self.resolve(part, argument, local)
            return text.split(separator)
        if function == "Fn::FindInMap":
            mapping, first, second = self.resolve(part, argument, local)
            return template["Mappings"][mapping][first][second]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            scope = {**local, **{k: self.resolve(part, v, local) for k, v in variables.items()}}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in scope:
                    return str(scope[name])
                if "." in name:
                    return str(self.physical(part, *name.split(".", 1)))
                return str(self.resolve(part, {"Ref": name}, scope))

            return _SUB_VARIABLE.sub(substitute, text)
        if function == "Fn::GetStackOutput":
            producer = self.assembly._parts_by_stack_name.get(argument["StackName"])
            if producer is None:
                raise UnresolvedError(f"GetStackOutput of unknown stack {argument['StackName']}")
            output = self.assembly.templates[producer]["Outputs"][argument["OutputName"]]
            return self.resolve(producer, output["Value"], {})
        if function == "Fn::ImportValue":
            raise UnresolvedError(f"Fn::ImportValue {argument}: this app uses weak references")
        raise UnresolvedError(f"intrinsic {function} is not supported by the test resolver")

    def physical(self, part: str, logical_id: str, attribute: str | None) -> Any:
        resources = self.assembly.templates[part]["Resources"]
        if logical_id not in resources:
            parameters = self.assembly.templates[part].get("Parameters", {})
            if logical_id in parameters:
                return parameters[logical_id].get("Default", "")
            raise UnresolvedError(f"{part}: Ref/GetAtt of unknown resource {logical_id}")
        resource = resources[logical_id]
        return self.values.value(
            part, logical_id, resource["Type"], attribute, resource.get("Properties", {})
        )
