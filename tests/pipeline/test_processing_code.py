"""The code the processing steps run, as it ships: the staged ``mlops`` zip of the training stack
(what cdk-assets uploads and the steps put on ``PYTHONPATH``), and Python 3.10 (the
scikit-learn 1.4-2 image's interpreter) for every module those entry points can import."""

from __future__ import annotations

import modulefinder
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.pipeline.definition import shipped_definition
from tests.pipeline.world import pipeline_variables
from tests.shipped.assembly import Assembly, PhysicalValues
from tests.synth import Synthesized

SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
IMAGE_PYTHON = "3.10"
VERMIN = [str(Path(sys.executable).with_name("vermin")), f"-t={IMAGE_PYTHON}-", "--violations"]


def code_asset(assembly: Assembly) -> Path:
    """The staged folder behind the pipeline's ``CodeAssetKey`` (published as its zip)."""
    key = pipeline_variables(assembly, "training")["CodeAssetKey"]
    [asset] = [a for a in assembly.file_assets("training") if a.key == key]
    assert asset.packaging == "zip"
    return asset.source


def entry_modules(assembly: Assembly) -> set[str]:
    """``python3 -m <module>`` of every step that runs our code in the scikit-learn image."""
    definition, _ = shipped_definition(assembly, "training", PhysicalValues())
    modules = set()
    for placed in definition.steps.values():
        app = placed.step.get("Arguments", {}).get("AppSpecification", {})
        if SKLEARN_REPOSITORY in str(app.get("ImageUri", "")):
            entrypoint = app["ContainerEntrypoint"]
            assert entrypoint[:2] == ["python3", "-m"], entrypoint
            modules.add(entrypoint[2])
    return modules


def run(args: list[str], *, cwd: Path, pythonpath: Path | None) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def test_the_processing_code_zip_has_mlops_at_its_root(dev: Synthesized, tmp_path: Path) -> None:
    """Defect 1: the code asset was the Lambda layer's staging (``python/mlops/...``), so
    ``python -m mlops...`` died on import in Partition, PrepareTest and Evaluate."""
    assembly = dev.assembly
    archive = assembly.asset_zip(code_asset(assembly))
    names = zipfile.ZipFile(archive).namelist()
    assert "mlops/__init__.py" in names
    assert not any(name.startswith("python/") for name in names)
    # The layer keeps its own layout (Lambda imports from /opt/python).
    [layer] = assembly.function("training", "TrainingQuotaPreflight").layer_dirs
    assert (layer / "python" / "mlops" / "__init__.py").is_file()

    for module in sorted(entry_modules(assembly)):
        help_run = run(["-m", module, "--help"], cwd=tmp_path, pythonpath=archive)
        assert help_run.returncode == 0, help_run.stderr
    # ... and only because of the zip: this interpreter does not have mlops installed.
    bare = run(["-c", "import mlops"], cwd=tmp_path, pythonpath=None)
    assert "No module named 'mlops'" in bare.stderr


def test_the_processing_steps_run_the_partition_evaluation_and_baseline_entry_points(
    dev: Synthesized,
) -> None:
    assert entry_modules(dev.assembly) == {
        "mlops.data.processing",
        "mlops.training.evaluation",
        "mlops.monitoring.baseline_data",
    }


def shipped_modules(folder: Path, entry: str) -> set[Path]:
    """Every file of the staged ``mlops`` package that ``entry`` can import, including
    imports inside functions (modulefinder reads the bytecode)."""
    finder = modulefinder.ModuleFinder(path=[str(folder)])
    finder.run_script(str(folder / (entry.replace(".", "/") + ".py")))
    files = {
        Path(path)
        for name, module in finder.modules.items()
        if name.split(".")[0] == "mlops" and (path := getattr(module, "__file__", None))
    }
    return files | {folder / (entry.replace(".", "/") + ".py")}


def test_the_code_the_processing_image_runs_is_python_3_10(dev: Synthesized) -> None:
    folder = code_asset(dev.assembly)
    files = set().union(*(shipped_modules(folder, m) for m in entry_modules(dev.assembly)))
    assert folder / "mlops" / "data" / "partitioner.py" in files  # imported inside a function
    assert folder / "mlops" / "container.py" in files
    checked = subprocess.run(
        [*VERMIN, "--no-tips", *sorted(str(f) for f in files)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("line", ["import tomllib", "from datetime import UTC"])
def test_the_version_check_catches_what_3_10_lacks(tmp_path: Path, line: str) -> None:
    source = tmp_path / "newer.py"
    source.write_text(line + "\n")
    checked = subprocess.run([*VERMIN, str(source)], capture_output=True, text=True)
    assert checked.returncode != 0
    assert line.split()[-1] in checked.stdout
