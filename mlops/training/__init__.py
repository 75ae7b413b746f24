"""Training: the pipeline's names (shared by the CDK stack and the CLI), the quota preflight,
the test-split evaluation that runs in a processing job, and the ``quotas``/``pipeline`` CLI.

Imports nothing at package level: ``mlops.training.evaluation`` runs inside the scikit-learn
processing image, the preflight inside Lambda.
"""
