"""Throwaway services shared by the tests and the benchmarks (never used in production)."""
