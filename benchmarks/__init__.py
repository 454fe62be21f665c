"""Speed and memory benchmarks, each printing ratios against a baseline measured in the same run.

Run from the repository root, e.g. ``python -m benchmarks.layers --quick``.
"""
