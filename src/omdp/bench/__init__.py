"""Benchmarks run by ``omdp bench``."""
