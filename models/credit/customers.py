"""The credit model's customer records: a read-only SQLite file beside the artifact (stdlib only).

The web serves ``/customers`` from it and validates ``customer_id`` against it;
the worker reads the features it scores and explains. It lives in the model
version's folder and is sha256-pinned in the manifest, so a version's customers
never change under it. One table, ``customers``: the id column (an INTEGER
PRIMARY KEY, so paging by id is an index walk) and one column per feature,
NULL where the value is missing.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

FILENAME = "customers.sqlite"
TABLE = "customers"
# Column names become SQL identifiers: only plain names are accepted.
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
Record = dict[str, Any]


def _ident(name: str) -> str:
    if not COLUMN_RE.match(name):
        raise ValueError(f"column name {name!r} must be letters, digits and underscores")
    return f'"{name}"'


def write(path: Path, id_column: str, features: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> None:
    """Create the file from rows of (id, *feature values); features are (name, "numeric" | "categorical")."""
    # NUMERIC affinity gives integers back as integers (DAYS_BIRTH -15000, not -15000.0).
    columns = [f"{_ident(id_column)} INTEGER PRIMARY KEY"]
    columns += [f"{_ident(name)} {'NUMERIC' if kind == 'numeric' else 'TEXT'}" for name, kind in features]
    marks = ", ".join("?" * (len(features) + 1))
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE {TABLE} ({', '.join(columns)})")
        db.executemany(
            f"INSERT INTO {TABLE} VALUES ({marks})",  # noqa: S608 - identifiers are TABLE or _ident-checked; values are bound
            ([None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows),
        )
    db.close()


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` because a pinned file never changes (no locks, no journal)."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


_local = threading.local()
_MAX_OPEN = 4  # files per thread: the active version and a few pinned ones


def _reader(path: Path) -> sqlite3.Connection:
    # Opening costs ~20x a primary-key look-up, and the web checks every id of a
    # batch: keep a few connections per thread (and per process: never across a fork).
    key = (os.getpid(), str(path))
    cache: dict[tuple[int, str], sqlite3.Connection] = _local.__dict__.setdefault("connections", {})
    db = cache.get(key)
    if db is None:
        if len(cache) >= _MAX_OPEN:
            for old in cache.values():
                old.close()
            cache.clear()
        db = cache[key] = connect(path)
    return db


def _records(cursor: sqlite3.Cursor) -> list[tuple[int, Record]]:
    names = [d[0] for d in cursor.description]
    return [(row[0], dict(zip(names[1:], row[1:], strict=True))) for row in cursor]


def get(path: Path, id_column: str, customer_id: int) -> Record | None:
    """One customer's features, or None if unknown."""
    cursor = _reader(path).execute(f"SELECT * FROM {TABLE} WHERE {_ident(id_column)} = ?", (int(customer_id),))  # noqa: S608 - identifiers are TABLE or _ident-checked; values are bound
    found = _records(cursor)
    return found[0][1] if found else None


def fetch(path: Path, id_column: str, ids: Sequence[int]) -> dict[int, Record]:
    """Features of the known customers among ``ids`` (unknown ids are simply absent)."""
    found: dict[int, Record] = {}
    # Stay well below SQLite's limit on bound parameters.
    for start in range(0, len(ids), 500):
        part = [int(i) for i in ids[start : start + 500]]
        cursor = _reader(path).execute(
            f"SELECT * FROM {TABLE} WHERE {_ident(id_column)} IN ({', '.join('?' * len(part))})",  # noqa: S608
            part,
        )
        found.update(_records(cursor))
    return found


MAX_ID = 2**63 - 1  # SQLite's largest INTEGER PRIMARY KEY


def prefix_ranges(prefix: str) -> list[tuple[int, int]]:
    """The ranges of positive 64-bit ids whose decimal digits start with ``prefix``, ascending and disjoint.

    "12" is 12, 120-129, 1200-1299, ...: one range per id length, so a search
    by prefix is a few primary-key range walks rather than a scan.
    """
    if not prefix.isdigit() or prefix.startswith("0"):
        return []  # no positive id is written with a leading zero
    start, ranges = int(prefix), []
    while start <= MAX_ID:
        width = 10 ** len(str(start)) // 10 ** len(prefix)  # ids of this length sharing the prefix
        ranges.append((start, min(start + width - 1, MAX_ID)))
        start *= 10
    return ranges


def page(
    path: Path, id_column: str, limit: int, after: int | None = None, id_prefix: str | None = None
) -> list[tuple[int, Record]]:
    """Up to ``limit`` customers with ids above ``after`` (and starting with ``id_prefix``), in id order."""
    ranges = prefix_ranges(id_prefix) if id_prefix is not None else [(-(2**63), MAX_ID)]
    low = after + 1 if after is not None else -(2**63)
    found: list[tuple[int, Record]] = []
    column = _ident(id_column)
    for first, last in ranges:
        if len(found) >= limit:
            break
        if last < low:
            continue
        cursor = _reader(path).execute(
            f"SELECT * FROM {TABLE} WHERE {column} BETWEEN ? AND ? ORDER BY {column} LIMIT ?",  # noqa: S608 - identifiers are TABLE or _ident-checked; values are bound
            (max(first, low), last, limit - len(found)),
        )
        found += _records(cursor)
    return found


def all_ids(path: Path, id_column: str) -> list[int]:
    """Every customer id, ascending."""
    return [
        row[0]
        for row in _reader(path).execute(f"SELECT {_ident(id_column)} FROM {TABLE} ORDER BY {_ident(id_column)}")  # noqa: S608 - identifiers are TABLE or _ident-checked; values are bound
    ]
