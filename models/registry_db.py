"""The model registry in the shared database: publish, activate, list and prune versions, read their files.

Every host reads the same rows, so a version published by a training job on
one host, or activated through any web process or the command line, is what
every other host sees next. Each change bumps ``registry_state.generation``
in the same transaction: a process learns that something changed by reading
that one number. Files are stored once by content (sha256), so versions that
share a customer table share its row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from models.manifest import ArtifactRefused, version_sort_key
from models.registry_tables import active_versions, model_blobs, model_files, model_versions, registry_state

# Version ids are YYYY-MM-DD.N; two trainers publishing at once race for N, and the loser retries.
PUBLISH_ATTEMPTS = 20


@dataclass(frozen=True)
class Snapshot:
    """The registry at one generation: every version's manifest and each model's active version."""

    generation: int
    versions: dict[str, list[str]] = field(default_factory=dict)  # name -> versions, oldest first
    chosen: dict[str, str] = field(default_factory=dict)  # name -> the explicitly activated version
    manifests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Models with at least one version."""
        return sorted(name for name, versions in self.versions.items() if versions)

    def active_version(self, name: str) -> str | None:
        """The version serving new jobs: the activated one, else the newest."""
        versions = self.versions.get(name, [])
        chosen = self.chosen.get(name)
        if chosen in versions:
            return chosen
        return versions[-1] if versions else None

    def pairs(self) -> set[tuple[str, str]]:
        """Every (name, version) in the registry."""
        return set(self.manifests)


class RegistryDB:
    """Reads and writes the registry's tables; every write is one transaction that bumps the generation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def generation(self) -> int:
        """The change counter: it moves whenever a version is published, activated or removed."""
        with self.engine.connect() as db:
            return int(db.execute(sa.select(registry_state.c.generation).where(registry_state.c.id == 1)).scalar_one())

    def snapshot(self) -> Snapshot:
        """Everything but the files' contents, read consistently in one transaction."""
        with self.engine.begin() as db:
            generation = int(db.execute(sa.select(registry_state.c.generation)).scalar_one())
            rows = db.execute(sa.select(model_versions.c.name, model_versions.c.version, model_versions.c.manifest))
            manifests = {(name, version): json.loads(text) for name, version, text in rows}
            chosen = dict(db.execute(sa.select(active_versions.c.name, active_versions.c.version)).all())
        versions: dict[str, list[str]] = {}
        for name, version in manifests:
            versions.setdefault(name, []).append(version)
        for found in versions.values():
            found.sort(key=version_sort_key)
        return Snapshot(generation, versions, chosen, manifests)

    def manifest(self, name: str, version: str) -> dict[str, Any] | None:
        """A version's manifest as published, or None if the registry has no such version."""
        with self.engine.connect() as db:
            text = db.execute(
                sa.select(model_versions.c.manifest).where(
                    model_versions.c.name == name, model_versions.c.version == version
                )
            ).scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    def blob(self, sha256: str) -> bytes:
        """The content of the file with this sha256; ArtifactRefused if the registry has none."""
        with self.engine.connect() as db:
            content = db.execute(sa.select(model_blobs.c.content).where(model_blobs.c.sha256 == sha256)).scalar()
        if content is None:
            raise ArtifactRefused(f"the registry has no file with sha256 {sha256[:12]}…")
        return bytes(content)

    def publish(
        self,
        name: str,
        kind: str,
        manifest: Mapping[str, Any],
        files: Mapping[str, Path],
        activate: bool,
        today: dt.date | None = None,
    ) -> str:
        """Store a new version of ``name``: its files (by sha256), its manifest and, if asked, make it active.

        The version id (YYYY-MM-DD.N) is allocated here and written into the
        manifest; the version appears to readers all at once, when the
        transaction commits. Returns the version id.
        """
        today = today or dt.datetime.now(dt.UTC).date()
        contents = {filename: path.read_bytes() for filename, path in files.items()}
        shas = {filename: manifest_sha(manifest, filename) for filename in files}
        for filename, content in contents.items():
            if hashlib.sha256(content).hexdigest() != shas[filename]:
                raise ArtifactRefused(f"{name}: {filename} does not hash to the sha256 its manifest pins")
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                with self.engine.begin() as db:
                    self._bump(db)  # first: on PostgreSQL its row lock orders concurrent publishers
                    version = self._next_version(db, name, today)
                    for filename, content in contents.items():
                        self._store_blob(db, shas[filename], content)
                    db.execute(
                        sa.insert(model_versions).values(
                            name=name,
                            version=version,
                            kind=kind,
                            published_at=dt.datetime.now(dt.UTC),
                            manifest=json.dumps({**manifest, "version": version}, sort_keys=True),
                        )
                    )
                    db.execute(
                        sa.insert(model_files),
                        [
                            {"name": name, "version": version, "filename": filename, "sha256": sha}
                            for filename, sha in shas.items()
                        ],
                    )
                    if activate:
                        self._activate(db, name, version)
                return version
            except sa.exc.IntegrityError:
                continue  # another publisher took this id first
        raise RuntimeError(f"could not allocate a version id for {name} after {PUBLISH_ATTEMPTS} attempts")

    def activate(self, name: str, version: str) -> None:
        """Serve ``version`` of ``name`` to new jobs; LookupError if the registry has no such version."""
        with self.engine.begin() as db:
            exists = db.execute(
                sa.select(model_versions.c.version).where(
                    model_versions.c.name == name, model_versions.c.version == version
                )
            ).first()
            if exists is None:
                raise LookupError(f"model {name!r} has no version {version!r}")
            self._bump(db)
            self._activate(db, name, version)

    def prune(self, keep: int, pinned: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        """Remove the versions beyond each model's newest ``keep``, except the active one and ``pinned``
        ones, with the files no remaining version uses; returns the (name, version) pairs removed."""
        snapshot = self.snapshot()
        doomed = []
        for name, versions in snapshot.versions.items():
            spared = {*versions[-keep:], snapshot.active_version(name), *pinned.get(name, set())}
            doomed += [(name, version) for version in versions if version not in spared]
        self.remove(doomed)
        return doomed

    def remove(self, versions: list[tuple[str, str]]) -> None:
        """Delete these versions, and every file no remaining version uses, in one transaction."""
        if not versions:
            return
        with self.engine.begin() as db:
            self._bump(db)
            for name, version in versions:
                # Not relying on ON DELETE CASCADE: SQLite enforces it only with foreign keys switched on.
                db.execute(sa.delete(model_files).where(model_files.c.name == name, model_files.c.version == version))
                db.execute(
                    sa.delete(active_versions).where(
                        active_versions.c.name == name, active_versions.c.version == version
                    )
                )
                db.execute(
                    sa.delete(model_versions).where(model_versions.c.name == name, model_versions.c.version == version)
                )
            db.execute(sa.delete(model_blobs).where(model_blobs.c.sha256.not_in(sa.select(model_files.c.sha256))))

    @staticmethod
    def _bump(db: Connection) -> None:
        db.execute(
            sa.update(registry_state).where(registry_state.c.id == 1).values(generation=registry_state.c.generation + 1)
        )

    @staticmethod
    def _activate(db: Connection, name: str, version: str) -> None:
        now = dt.datetime.now(dt.UTC)
        updated = db.execute(
            sa.update(active_versions).where(active_versions.c.name == name).values(version=version, activated_at=now)
        )
        if updated.rowcount == 0:
            db.execute(sa.insert(active_versions).values(name=name, version=version, activated_at=now))

    @staticmethod
    def _next_version(db: Connection, name: str, today: dt.date) -> str:
        prefix = f"{today.isoformat()}."
        taken = (
            db.execute(
                sa.select(model_versions.c.version).where(
                    model_versions.c.name == name, model_versions.c.version.startswith(prefix)
                )
            )
            .scalars()
            .all()
        )
        numbers = [int(v[len(prefix) :]) for v in taken if v[len(prefix) :].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1}"

    def _store_blob(self, db: Connection, sha256: str, content: bytes) -> None:
        """Insert a file unless one with its sha256 is already stored."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        db.execute(
            dialect.insert(model_blobs)
            .values(sha256=sha256, size=len(content), content=content)
            .on_conflict_do_nothing(index_elements=["sha256"])
        )


def manifest_sha(manifest: Mapping[str, Any], filename: str) -> str:
    """The sha256 a manifest pins for one of its files: the artifact's, or a data file's."""
    if filename == manifest["artifact"]:
        return str(manifest["sha256"])
    for entry in manifest.get("details", {}).get("files", {}).values():
        if entry["path"] == filename:
            return str(entry["sha256"])
    raise ArtifactRefused(f"the manifest pins no file named {filename}")
