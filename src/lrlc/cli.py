"""The `lrlc` console script (`lrlc.cli:main`); the command line lives in lrlc.experiments.cli."""

from __future__ import annotations

import sys

from .experiments.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
