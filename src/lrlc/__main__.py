"""`python -m lrlc ...` is the `lrlc` command."""

import sys

from .experiments.cli import main

sys.exit(main())
