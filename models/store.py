"""The model store every process uses: the shared registry for the truth, this host's cache for the files.

Trainers stage a version in a local folder and ``publish`` it; the web lists
and activates versions; workers ask for ``manifest(name, version)`` and get a
local folder whose files hash to what the registry pinned. Nothing here
unpickles anything: ``Manifest.verify`` runs before every load
(``models.loader``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path

from jobqueue.database import create_engine
from jobqueue.settings import Settings
from models.cache import ModelCache
from models.manifest import ArtifactRefused, Manifest
from models.registry_db import RegistryDB, Snapshot


class ModelStore:
    """Versions, manifests and the active version, as the registry has them, with files on this host."""

    def __init__(self, registry: RegistryDB, cache: ModelCache) -> None:
        self.registry = registry
        self.cache = cache

    @classmethod
    def for_settings(cls, settings: Settings) -> ModelStore:
        """The store of ``settings``' database, caching into MODEL_DIR."""
        return cls(RegistryDB(create_engine(settings)), ModelCache(settings.model_dir))

    @property
    def root(self) -> Path:
        """This host's cache folder."""
        return self.cache.root

    def snapshot(self) -> Snapshot:
        """The whole registry as it stands (manifests, versions, active versions), in one read."""
        return self.registry.snapshot()

    def names(self) -> list[str]:
        """Models that have at least one version."""
        return self.snapshot().names()

    def versions(self, name: str) -> list[str]:
        """A model's versions, oldest first."""
        return self.snapshot().versions.get(name, [])

    def active_version(self, name: str) -> str | None:
        """The version that serves new jobs: the activated one, else the newest."""
        return self.snapshot().active_version(name)

    def manifest(self, name: str, version: str | None = None, snapshot: Snapshot | None = None) -> Manifest:
        """A version's manifest (the active one by default), its files on this host.

        A version already cached is read from disk with no query; versions are
        immutable, so the copy cannot be stale (a pruned one is refused at the
        next refresh, not here).
        """
        if version is None:
            version = (snapshot or self.snapshot()).active_version(name)
            if version is None:
                raise ArtifactRefused(f"model {name!r} has no trained version")
        cached = self.cache.cached(name, version)
        if cached is not None:
            return cached
        raw = snapshot.manifests.get((name, version)) if snapshot else self.registry.manifest(name, version)
        if raw is None:
            raise ArtifactRefused(f"model {name!r} has no version {version!r}")
        files = {
            raw["artifact"]: raw["sha256"],
            **{e["path"]: e["sha256"] for e in raw.get("details", {}).get("files", {}).values()},
        }
        manifest = self.cache.materialise(raw, files, self.registry.blob)
        if (manifest.name, manifest.version) != (name, version):
            raise ArtifactRefused(
                f"the registry's {name} {version} holds a manifest for {manifest.name} {manifest.version}"
            )
        return manifest

    def activate(self, name: str, version: str) -> None:
        """Serve ``version`` to new jobs, on every host; LookupError if there is no such version."""
        self.registry.activate(name, version)

    def staging(self, name: str) -> AbstractContextManager[Path]:
        """A local folder to write a new version's files into before ``publish``."""
        return self.cache.staging(name)

    def publish(self, draft: Manifest, activate: bool) -> Manifest:
        """Publish the version staged in ``draft.directory``: the registry gives it its id; returns its manifest.

        ``draft`` is complete but for its version, which is allocated when the
        registry stores it; the staged folder then becomes this host's copy.
        """
        files = {
            draft.artifact: draft.artifact_path,
            **{entry["path"]: draft.directory / entry["path"] for entry in draft.files.values()},
        }
        version = self.registry.publish(draft.name, draft.kind, draft.to_json(), files, activate)
        return self.cache.adopt(draft.directory, dataclasses.replace(draft, version=version))

    def prune(self, keep: int, pinned: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        """Drop versions beyond the newest ``keep`` (sparing the active and ``pinned`` ones), here and in the
        registry; other hosts drop their copies when they next refresh."""
        removed = self.registry.prune(keep, pinned)
        if removed:
            self.cache.retain(self.snapshot().pairs())
        return removed


def iter_files(manifest: Manifest) -> Iterator[Path]:
    """The artifact and every pinned data file of a version, on this host."""
    yield manifest.artifact_path
    for role in manifest.files:
        yield manifest.file_path(role)
