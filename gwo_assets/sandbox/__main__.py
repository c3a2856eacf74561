"""Entry point: ``python -m gwo_assets.sandbox up --help``."""

import sys

from gwo_assets.sandbox.cli import main

sys.exit(main())
