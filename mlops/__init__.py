"""Shared logic of the fraud-detection MLOps platform.

Everything that does work against AWS or on data lives here once, and is called by the
Lambda handlers (``lambdas/``), the SageMaker processing steps, the CLI (``python -m mlops``)
and the tests. Modules import only the standard library and boto3 at top level, so Lambda cold
starts stay fast; heavy data libraries are imported inside :mod:`mlops.data` only.
"""

__version__ = "0.1.0"
