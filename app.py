#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=<name>`. The only place environment variables are read."""

import os
import sys

import aws_cdk as cdk

from stacks.config import ConfigError
from stacks.platform import build_platform

app = cdk.App()
try:
    build_platform(
        app,
        default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        default_region=os.environ.get("CDK_DEFAULT_REGION"),
    )
except ConfigError as error:
    sys.exit(f"error: {error}")
app.synth()
