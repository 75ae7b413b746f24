"""The ``mlops`` package as an asset, bundled by copying (no Docker), for Lambda layers and
SageMaker processing jobs alike."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

import aws_cdk as cdk
import jsii

ROOT = Path(__file__).resolve().parents[2]
MLOPS_DIR = ROOT / "mlops"
# Never part of an asset: they would change its hash on every machine.
IGNORED = ("__pycache__", "*.pyc", ".mypy_cache")


@jsii.implements(cdk.ILocalBundling)
class _CopyPackage:
    def __init__(self, parent: str) -> None:
        self._parent = parent

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        shutil.copytree(
            MLOPS_DIR,
            Path(output_dir) / self._parent / "mlops",
            ignore=shutil.ignore_patterns(*IGNORED),
            dirs_exist_ok=True,
        )
        return True


def mlops_bundling(parent: str = "") -> cdk.BundlingOptions:
    """Bundle ``mlops/`` as ``<parent>/mlops`` inside the asset: ``python`` for a Lambda
    layer's import path, ``""`` for a zip that goes on ``PYTHONPATH`` as it is.

    Use with ``asset_hash_type=cdk.AssetHashType.OUTPUT`` and ``MLOPS_DIR`` as the path.

    CDK stages an asset once per *cache key*: the JSON of its source path and bundling options,
    in which the local bundler object shows as nothing. Two layouts of the same folder would
    therefore share whichever was staged first (a layer's ``python/mlops`` as the processing
    code). The layout is written into the options (``environment``, unused by local
    bundling) so that each layout is a key of its own.
    """
    return cdk.BundlingOptions(
        # Required by the API but unused: local bundling always succeeds.
        image=cdk.DockerImage.from_registry("unused-local-bundling"),
        local=typing.cast(cdk.ILocalBundling, _CopyPackage(parent)),
        environment={"MLOPS_PACKAGE_LAYOUT": f"{parent}/mlops".lstrip("/")},
    )
