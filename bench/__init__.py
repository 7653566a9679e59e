"""Benchmarks: load drivers that print figures; never part of the test suite."""
