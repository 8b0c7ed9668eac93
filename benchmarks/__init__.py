"""Throughput, scaling and memory benchmarks of simsched (``python -m benchmarks``).

Not part of the test suite: the numbers are wall times of the machine they run
on. ``docs/performance.md`` explains the scenario, the results and what bounds
the speed.
"""
