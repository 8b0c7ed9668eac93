"""Regression tests: golden baselines of the shipped experiments, determinism, and docs/ci.md."""
