"""Approval-to-endpoint deployment: names, settings, event parsing, convergence, batch handling.

Import the submodules directly (``from mlops.deployment.deploy import converge``): this package
imports nothing at import time, so the deploy Lambda's cold start only loads what it uses.
"""
