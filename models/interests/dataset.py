"""A deterministic synthetic signup data set: users described by interests drawn from latent personas.

Each user has one hidden persona. They name between ``MIN_INTERESTS`` and
``MAX_INTERESTS`` interests; each is drawn from their persona's list with
probability ``PERSONA_LOYALTY`` and from the whole vocabulary otherwise, so the
personas overlap the way real people's hobbies do. Users live in one of
``CITIES``. The same seed always yields the same table, so a trained model's
metrics are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERSONAS: dict[str, tuple[str, ...]] = {
    "outdoors": ("surfing", "hiking", "climbing", "cycling", "running", "camping", "skiing", "kayaking", "yoga"),
    "tech": (
        "python",
        "programming",
        "machine learning",
        "video games",
        "robotics",
        "startups",
        "electronics",
        "astronomy",
        "chess",
    ),
    "culture": ("painting", "photography", "theatre", "museums", "poetry", "cinema", "jazz", "reading", "design"),
    "social": ("cooking", "wine", "travel", "dancing", "board games", "coffee", "baking", "fashion", "volunteering"),
}
VOCABULARY: tuple[str, ...] = tuple(i for group in PERSONAS.values() for i in group)
CITIES = (
    "Lisbon",
    "Porto",
    "Paris",
    "Lyon",
    "Berlin",
    "Madrid",
    "Barcelona",
    "London",
    "Amsterdam",
    "New York",
    "São Paulo",
    "Kraków",
)
PERSONA_WEIGHTS = (0.3, 0.25, 0.2, 0.25)
PERSONA_LOYALTY = 0.8
MIN_INTERESTS, MAX_INTERESTS = 3, 8


@dataclass(frozen=True)
class SignupData:
    """Users as a binary user-by-interest matrix, with their hidden personas and cities."""

    matrix: np.ndarray  # shape (n_users, len(VOCABULARY)), values 0/1
    personas: np.ndarray  # index into PERSONAS, per user
    cities: tuple[str, ...]
    vocabulary: tuple[str, ...] = VOCABULARY


def generate(n_users: int = 3000, seed: int = 0) -> SignupData:
    """Draw ``n_users`` synthetic signups; the same seed gives the same data."""
    rng = np.random.default_rng(seed)
    groups = [np.array([VOCABULARY.index(i) for i in g]) for g in PERSONAS.values()]
    personas = rng.choice(len(groups), size=n_users, p=PERSONA_WEIGHTS)
    matrix = np.zeros((n_users, len(VOCABULARY)), dtype=np.float32)
    for row, persona in enumerate(personas):
        count = rng.integers(MIN_INTERESTS, MAX_INTERESTS + 1)
        loyal = rng.random(count) < PERSONA_LOYALTY
        picks = np.where(loyal, rng.choice(groups[persona], size=count), rng.integers(0, len(VOCABULARY), size=count))
        matrix[row, picks] = 1.0
    cities = tuple(rng.choice(CITIES, size=n_users))
    return SignupData(matrix=matrix, personas=personas, cities=cities)
