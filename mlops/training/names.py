"""Names shared by the Training stack (synth) and the CLI (run time), defined once."""

from __future__ import annotations

from mlops.constants import resource_prefix


def pipeline_name(environment: str) -> str:
    """The SageMaker Pipeline of ``environment``."""
    return f"{resource_prefix(environment)}-training"
