"""The web's view of the model registry: manifests, availability and descriptions, without scikit-learn.

Every web process keeps a snapshot of the registry (every version's manifest
and each model's active version) and a watcher thread that reads the
registry's change counter every REGISTRY_POLL_S. When it moves (a version was
published, activated or pruned on any host), the watcher reads a new snapshot,
copies the active versions' files to this host first, and only then swaps the
snapshot in: a submission reads nothing but memory, and the next one after a
rollout anywhere gets the new version within a poll and a download.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

from models.activate import unservable
from models.kinds import KINDS
from models.manifest import NAME_RE, ArtifactRefused, Manifest
from models.registry_db import Snapshot
from models.store import ModelStore
from web.errors import ApiError

log = logging.getLogger(__name__)

# What a verdict of ``problem`` depends on: the directory and sha256 of the version, then each file's
# name, size and mtime, then (role, sha256) per pinned file.
VerifiedKey = tuple[str | int | tuple[str, str], ...]


class ModelCatalog:
    """Answers which models exist, which version serves, and whether its artifact may be loaded."""

    def __init__(self, store: ModelStore, poll_s: float = 1.0) -> None:
        self.store = store
        self.poll_s = poll_s
        self._snapshot: Snapshot | None = None
        self._verified: dict[VerifiedKey, str | None] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._watcher: threading.Thread | None = None

    def snapshot(self) -> Snapshot:
        """The registry as this process last saw it (read now if never), and the watcher started."""
        snapshot = self._snapshot
        if snapshot is None:
            self.refresh()
            snapshot = self._snapshot
            if snapshot is None:  # pragma: no cover - refresh() sets it or raises
                raise RuntimeError("the registry could not be read")
        self._watch()
        return snapshot

    def refresh(self) -> bool:
        """Read the registry again if its change counter moved; True if the snapshot changed."""
        with self._refreshing:
            current = self._snapshot
            if current is not None and self.store.registry.generation() == current.generation:
                return False
            snapshot = self.store.snapshot()
            for name in snapshot.names():
                try:  # the active versions' files reach this host before any request needs them
                    self.store.manifest(name, snapshot.active_version(name), snapshot)
                except ArtifactRefused as exc:
                    log.error("model %s cannot be copied to this host: %s", name, exc)
            self._snapshot = snapshot
            self.store.cache.retain(snapshot.pairs())
            return True

    def _watch(self) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                return
            # The thread holds the catalog weakly: an app that is gone (tests build many) stops its watcher.
            self._watcher = threading.Thread(
                target=_watch_registry, args=(weakref.ref(self), self.poll_s), name="registry-watcher", daemon=True
            )
            self._watcher.start()

    def manifest(self, name: str, version: str | None = None) -> Manifest:
        """The manifest a new job of ``name`` would use; ApiError 404/503 when there is none."""
        snapshot = self.snapshot()
        self.require(name, snapshot)
        if version is not None and version not in snapshot.versions.get(name, []):
            raise ApiError(
                404,
                "unknown_model_version",
                f"model {name!r} has no version {version!r}; GET /models/{name} lists them",
            )
        try:
            manifest = self.store.manifest(name, version or snapshot.active_version(name), snapshot)
        except ArtifactRefused as exc:
            raise ApiError(503, "model_unavailable", str(exc), headers={"Retry-After": "60"}) from exc
        problem = self.problem(manifest)
        if problem:
            raise ApiError(
                503,
                "model_unavailable",
                f"model {name} {manifest.version} cannot serve: {problem}",
                headers={"Retry-After": "60"},
            )
        return manifest

    def names(self) -> list[str]:
        """Models that have at least one version, as the registry has them now."""
        return self.current().names()

    def current(self) -> Snapshot:
        """The snapshot after a check of the registry's change counter: what listings and activations read.

        Submissions read ``snapshot()`` alone (no query); a listing may spend a
        small query so that what a client just did shows at once.
        """
        self.refresh()
        return self.snapshot()

    def require(self, name: str, snapshot: Snapshot | None = None) -> None:
        """ApiError 404 unless a model called ``name`` has a stored version."""
        if not NAME_RE.match(name) or name not in (snapshot or self.current()).names():
            raise ApiError(404, "unknown_model", f"no model named {name!r}; GET /models lists them")

    def problem(self, manifest: Manifest) -> str | None:
        """Why this version cannot be loaded (hash, libraries, unknown kind), or None if it can.

        Hashing is cached per size and mtime of the artifact and every pinned file:
        a replaced or edited file is re-checked.
        """
        key: VerifiedKey = (str(manifest.directory), manifest.sha256)
        for what, path in [
            ("artifact", manifest.artifact_path),
            *[(f"{role} file", manifest.file_path(role)) for role in manifest.files],
        ]:
            try:
                stat = path.stat()
            except OSError:
                return f"{what} {path.name} is missing"
            key += (path.name, stat.st_size, stat.st_mtime_ns)
        key += tuple(sorted((role, e["sha256"]) for role, e in manifest.files.items()))
        with self._lock:
            if key in self._verified:
                return self._verified[key]
        problem = unservable(manifest)
        with self._lock:
            self._verified[key] = problem
        return problem

    def describe(self, name: str, full: bool = False) -> dict[str, Any]:
        """A model as GET /models shows it; ``full`` adds its input schema, details and every version."""
        snapshot = self.current()
        active = snapshot.active_version(name)
        try:
            manifest = self.store.manifest(name, active, snapshot)
            problem = self.problem(manifest)
        except ArtifactRefused as exc:
            return {"name": name, "version": active, "available": False, "unavailable_reason": str(exc)}
        spec = KINDS.get(manifest.kind)
        view: dict[str, Any] = {
            "name": name,
            "version": manifest.version,
            "kind": manifest.kind,
            "tasks": [t for t in manifest.tasks if spec and t in spec.tasks],
            "available": problem is None,
            "unavailable_reason": problem,
            "created_at": manifest.created_at,
            "metrics": manifest.metrics,
            "links": {"self": f"/models/{name}"},
        }
        if full:
            view.update(self._schemas(manifest))
            view["details"] = manifest.details
            view["framework"] = manifest.framework
            view["sha256"] = manifest.sha256
            view["versions"] = [
                self._version_view(snapshot, name, v, active) for v in reversed(snapshot.versions.get(name, []))
            ]
        return view

    @staticmethod
    def _schemas(manifest: Manifest) -> dict[str, Any]:
        spec = KINDS.get(manifest.kind)
        if spec is None:
            return {"input_schema": None, "params_schema": {}}
        return {
            "input_schema": spec.input_for(manifest).model_json_schema(),
            "params_schema": {t: m.model_json_schema() for t, m in spec.tasks.items() if t in manifest.tasks},
        }

    def _version_view(self, snapshot: Snapshot, name: str, version: str, active: str | None) -> dict[str, Any]:
        """One version's manifest as a data scientist compares versions: hash, libraries, schema, metrics.

        Listing does not copy every version's files here: a version this host
        holds has its files checked; one it does not yet hold, only its kind
        and libraries (its files are checked when it is copied).
        """
        cached = self.store.cache.cached(name, version)
        try:
            manifest = cached or Manifest.from_json(snapshot.manifests[(name, version)], self.store.root)
        except ArtifactRefused as exc:
            return {"version": version, "active": version == active, "available": False, "unavailable_reason": str(exc)}
        problem = self.problem(manifest) if cached else _library_problem(manifest)
        return {
            "version": version,
            "active": version == active,
            "created_at": manifest.created_at,
            "available": problem is None,
            "unavailable_reason": problem,
            "kind": manifest.kind,
            "tasks": list(manifest.tasks),
            "metrics": manifest.metrics,
            "sha256": manifest.sha256,
            "framework": manifest.framework,
            "input_schema": self._schemas(manifest)["input_schema"],
            "training_data": manifest.details.get("training_data"),
        }


def _library_problem(manifest: Manifest) -> str | None:
    """Why a version could not serve here, judged without its files: its kind or its libraries."""
    if manifest.kind not in KINDS:
        return f"model kind {manifest.kind!r} is not supported by this service"
    problems = manifest.incompatibilities()
    return f"{manifest.name} {manifest.version}: " + "; ".join(problems) if problems else None


def _watch_registry(catalog_ref: weakref.ReferenceType[ModelCatalog], poll_s: float) -> None:
    """Refresh the catalog every ``poll_s`` until it is gone; a failure is logged once until it passes."""
    failing = False
    while True:
        catalog = catalog_ref()
        if catalog is None:
            return
        try:
            catalog.refresh()
            if failing:
                log.warning("registry reachable again")
            failing = False
        except Exception:  # the registry may be down for a while: keep serving the last snapshot
            if not failing:
                log.warning("registry unreachable; serving the models as last read", exc_info=True)
            failing = True
        del catalog  # not held while sleeping, so the app can go
        time.sleep(poll_s)
