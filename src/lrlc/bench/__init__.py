"""Speed and memory benchmarks, each printing ratios against a baseline measured in the same run.

``lrlc bench layers`` (layer cases against the convolution floor and naive baselines) and
``lrlc bench training`` (the trainer's step under its speed switches); ``--quick`` for a smoke
run, ``--json PATH`` for the raw numbers. Timing and memory methods: ``harness.py``.
"""

BENCHMARKS = ("layers", "rank", "training")
