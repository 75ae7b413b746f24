"""Model monitoring that follows the approved version: schedules, late labels, status.

Standard library and boto3 only (the deploy Lambda imports it), except
:mod:`mlops.monitoring.baseline_data`, which runs in the processing image. docs/monitoring.md.
"""
