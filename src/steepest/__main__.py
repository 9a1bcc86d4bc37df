"""`python -m steepest` runs the `steepest` command."""

import sys

from steepest.cli import main

sys.exit(main())
