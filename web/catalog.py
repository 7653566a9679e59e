"""The web's view of the model store: manifests, availability and descriptions, without scikit-learn."""

from __future__ import annotations

import threading
import time
from typing import Any

from models.activate import unservable
from models.kinds import KINDS
from models.manifest import NAME_RE, ArtifactRefused, Manifest, ModelStore
from web.errors import ApiError

# A resolved manifest serves submissions while its model's folder is unchanged
# (a new version folder or an activation, which replaces ACTIVE, changes its
# mtime), so a rollout is seen at once for the price of one stat(); the
# artifact checks behind it are redone at least this often.
RESOLVED_TTL_S = 1.0

# What a verdict of ``problem`` depends on: the directory and sha256 of the version, then each file's
# name, size and mtime, then (role, sha256) per pinned file.
VerifiedKey = tuple[str | int | tuple[str, str], ...]


class ModelCatalog:
    """Answers which models exist, which version serves, and whether its artifact may be loaded."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store
        self._verified: dict[VerifiedKey, str | None] = {}
        self._resolved: dict[tuple[str, str | None], tuple[float, int, Manifest]] = {}
        self._lock = threading.Lock()

    def manifest(self, name: str, version: str | None = None) -> Manifest:
        """The manifest a new job of ``name`` would use; ApiError 404/503 when there is none."""
        try:
            stamp = (self.store.root / name).stat().st_mtime_ns if NAME_RE.match(name) else -1
        except OSError:
            stamp = -1
        cached = self._resolved.get((name, version))
        if cached is not None and cached[0] > time.monotonic() and cached[1] == stamp:
            return cached[2]
        manifest = self._resolve(name, version)
        self._resolved[(name, version)] = (time.monotonic() + RESOLVED_TTL_S, stamp, manifest)
        return manifest

    def require(self, name: str) -> None:
        """ApiError 404 unless a model called ``name`` has a stored version."""
        try:
            known = bool(NAME_RE.match(name)) and name in self.store.names()
        except ArtifactRefused:
            known = False
        if not known:
            raise ApiError(404, "unknown_model", f"no model named {name!r}; GET /models lists them")

    def _resolve(self, name: str, version: str | None) -> Manifest:
        self.require(name)
        if version is not None and version not in self.store.versions(name):
            raise ApiError(
                404,
                "unknown_model_version",
                f"model {name!r} has no version {version!r}; GET /models/{name} lists them",
            )
        try:
            manifest = self.store.manifest(name, version)
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
        active = self.store.active_version(name)
        try:
            manifest = self.store.manifest(name, active)
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
            view["versions"] = [self._version_view(name, v, active) for v in reversed(self.store.versions(name))]
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

    def _version_view(self, name: str, version: str, active: str | None) -> dict[str, Any]:
        """One version's manifest as a data scientist compares versions: hash, libraries, schema, metrics."""
        try:
            manifest = self.store.manifest(name, version)
        except ArtifactRefused as exc:
            return {"version": version, "active": version == active, "available": False, "unavailable_reason": str(exc)}
        problem = self.problem(manifest)
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
