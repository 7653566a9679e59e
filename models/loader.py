"""Loads verified artifacts from the model store, once per process per (model, version)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import joblib

from models.manifest import Manifest
from models.store import ModelStore


@dataclass(frozen=True)
class LoadedModel:
    """A manifest and the estimator unpickled from its verified artifact."""

    manifest: Manifest
    estimator: Any


class ModelLoader:
    """Per-process cache of loaded models; joblib runs code on load, so nothing unverified is loaded.

    After a rollout, jobs pinned to the previous version may still arrive, so
    a few versions per model stay loaded; beyond ``versions_per_model`` the
    least recently used one is dropped.
    """

    def __init__(self, store: ModelStore, versions_per_model: int = 2) -> None:
        if versions_per_model < 1:
            raise ValueError("versions_per_model must be at least 1")
        self.store = store
        self.versions_per_model = versions_per_model
        self._loaded: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, version: str | None = None) -> LoadedModel:
        """The model at ``version`` (the active one if None); raises ArtifactRefused if unsafe."""
        version = version or self.store.active_version(name)
        key = (name, version or "")
        with self._lock:
            loaded = self._loaded.get(key)
            if loaded is not None:
                self._loaded.move_to_end(key)
                return loaded
            manifest = self.store.manifest(name, version)
            manifest.verify()
            # mmap keeps large arrays in the page cache, shared by every worker process.
            estimator = joblib.load(manifest.artifact_path, mmap_mode="r")
            loaded = self._loaded[key] = LoadedModel(manifest=manifest, estimator=estimator)
            same_model = [k for k in self._loaded if k[0] == name]
            for stale in same_model[: -self.versions_per_model]:
                del self._loaded[stale]
        return loaded

    def forget(self, keep: set[tuple[str, str]]) -> None:
        """Drop loaded versions that are not in ``keep`` (pruned from the registry)."""
        with self._lock:
            for key in [k for k in self._loaded if k not in keep]:
                del self._loaded[key]

    def loaded(self) -> list[tuple[str, str]]:
        """(name, version) pairs this process holds in memory."""
        with self._lock:
            return sorted(self._loaded)
