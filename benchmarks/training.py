"""Runs `lrlc bench training`, whose code lives in `lrlc.bench.training`."""

import sys

from lrlc.bench.training import main

if __name__ == "__main__":
    sys.exit(main())
