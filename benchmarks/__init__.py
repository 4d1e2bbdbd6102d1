"""Benchmark harness: ``./course bench`` (or ``python -m benchmarks``) prints one table.

Every ``benchmarks/bench_*.py`` module provides ``run(repeats) -> list[Row]``. Each row is a median
of several runs *and* a ratio against a baseline measured in the same run, never an absolute
target: the machine is shared and its speed varies.
"""
