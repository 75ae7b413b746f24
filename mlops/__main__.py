"""``python -m mlops``: the command-line front of the shared logic."""

import sys

from mlops.cli import main

sys.exit(main())
