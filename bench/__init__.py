"""Benchmarks: a corpus generator and a script comparing meshc with baselines."""
