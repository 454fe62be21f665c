"""Runs `lrlc bench layers`, whose code lives in `lrlc.bench.layers`."""

import sys

from lrlc.bench.layers import main

if __name__ == "__main__":
    sys.exit(main())
