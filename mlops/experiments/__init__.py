"""Shared experiments: every pipeline run as one MLflow run in the environment's MLflow app.

``tracking``  a small MLflow REST client whose requests are SigV4-signed with botocore, the way
              SageMaker MLflow apps authenticate (standard library + botocore only, so it runs
              in a Lambda function or the processing image unchanged);
``runs``      the facts of a pipeline run -> one idempotent MLflow run (params, metrics, tags);
``compare``   reading runs back and printing them side by side (``python -m mlops experiments``).

See docs/experiments.md.
"""
