"""Benchmarks: load and idle generators, the runner, message sizes (see README.md)."""
