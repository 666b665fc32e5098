"""Benchmarks for Accord: `python -m bench` (see bench/README.md)."""
