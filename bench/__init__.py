"""Benchmarks: synthetic data and measurements against floors taken in the same run."""
