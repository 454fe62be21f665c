"""Entry points for running the benchmarks from a checkout: ``python -m benchmarks.layers``.

The benchmarks themselves are in ``lrlc.bench`` so that ``lrlc bench`` runs them too.
"""
