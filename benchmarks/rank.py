"""Runs `lrlc bench rank`, whose code lives in `lrlc.bench.rank`."""

import sys

from lrlc.bench.rank import main

if __name__ == "__main__":
    sys.exit(main())
