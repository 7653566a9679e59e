"""What a signup looks like on the wire, and the checks that need the model's vocabulary."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from models.training import TrainParams

KIND = "interests-nmf"


def _has_letter_or_digit(city: str) -> str:
    # Every city must yield a non-empty room slug.
    if not re.search(r"[^\W_]", city):
        raise ValueError("a city needs at least one letter or digit")
    return city


Interest = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
City = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_has_letter_or_digit)
]


class InterestsInput(BaseModel):
    """One new user: the interests they picked and the city they live in."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"example": {"interests": ["surfing", "python"], "city": "Lisbon"}},
    )

    interests: list[Interest] = Field(
        min_length=1, max_length=50, description="Free-text interests; matched case-insensitively."
    )
    city: City = Field(description="The user's city; users of one city and cluster share a room.")


class NoParams(BaseModel):
    """The interests model takes no parameters."""

    model_config = ConfigDict(extra="forbid", strict=True)


class InterestsTrainParams(TrainParams):
    """Parameters of interests/train: refit on a fresh synthetic signup table."""

    n_users: int = Field(3000, ge=100, le=50_000, description="Synthetic signups to train on.")
    n_clusters: int = Field(4, ge=2, le=12, description="Clusters (chat rooms per city).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the table and of NMF.")


class InterestsResult(BaseModel):
    """The result of one signup."""

    cluster: int = Field(ge=1, description="Cluster number, from 1.")
    room: str = Field(description="Chat room: slugified city and cluster, e.g. lisbon-3.")
    scores: dict[str, float] = Field(description="Share of the user's profile per cluster (sums to 1).")
    unknown_interests: list[str] = Field(description="Interests the model's vocabulary lacks.")


_SEPARATORS = re.compile(r"[\s_-]+")


# Clients send the same few hundred spellings over and over; a batch of 10,000 users spent a
# fifth of its worker time here. Bounded, so odd strings cannot grow it.
@functools.lru_cache(maxsize=4096)
def normalize_interest(term: str) -> str:
    """Canonical form used for vocabulary look-ups: 'Machine_Learning ' -> 'machine learning'."""
    return _SEPARATORS.sub(" ", term.strip().lower()).strip()


def check_known_interests(record: InterestsInput, vocabulary: Iterable[str]) -> list[tuple[tuple[str, ...], str]]:
    """A user none of whose interests the model knows cannot be clustered: say so per record."""
    known = set(vocabulary)
    if any(normalize_interest(term) in known for term in record.interests):
        return []
    return [
        (
            ("interests",),
            "none of these interests is in the model's vocabulary; GET /models/interests lists the known ones",
        )
    ]
