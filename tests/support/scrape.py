"""Reading a Prometheus scrape in tests: every sample keyed by its name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def at(found: Samples, name: str, **labels: str) -> float | None:
    """The value of one sample, or None if the scrape has none with exactly these labels."""
    return found.get((name, frozenset(labels.items())))
