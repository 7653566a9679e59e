"""Test helpers: starting real processes, serving HTTP in threads, watching Redis, test data."""
