"""Where SageMaker puts things inside a job's container: ``/opt/ml``.

A processing job sees its inputs, outputs and configuration under ``/opt/ml``
(``processing/<LocalPath>``, ``config/processingjobconfig.json``, ``config/resourceconfig.json``).
Outside SageMaker, ``SAGEMAKER_BASE_DIR`` names the folder that stands for ``/opt/ml``: the
convention of SageMaker's own container toolkits (``sagemaker-training-toolkit``,
``sagemaker-inference-toolkit``). The offline pipeline executor (tests/pipeline) runs the
shipped entry points this way, with their real arguments. In a job the variable is unset and
every path is what SageMaker documents.

Standard library only; runs in the processing image (Python 3.10).
"""

from __future__ import annotations

import os
from pathlib import Path

OPT_ML = "/opt/ml"
BASE_DIR_VARIABLE = "SAGEMAKER_BASE_DIR"

PROCESSING_DIR = f"{OPT_ML}/processing"
PROCESSING_CONFIG = f"{OPT_ML}/config/processingjobconfig.json"
RESOURCE_CONFIG = f"{OPT_ML}/config/resourceconfig.json"


def container_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as this process sees it: a path under ``/opt/ml`` is moved under
    ``$SAGEMAKER_BASE_DIR`` when that is set; any other path is returned as it is."""
    text = os.fspath(path)
    normalized = os.path.normpath(text)
    base = os.environ.get(BASE_DIR_VARIABLE, "").strip()
    if base and (normalized == OPT_ML or normalized.startswith(OPT_ML + "/")):
        return Path(base) / normalized[len(OPT_ML) :].lstrip("/")
    return Path(text)
