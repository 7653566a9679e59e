"""Model manifests: what a stored artifact is, where it lives, and whether it may be loaded.

Layout: ``<model_dir>/<name>/<version>/manifest.json`` beside the artifact, and
``<model_dir>/<name>/ACTIVE`` naming the version that serves new jobs. This
module is stdlib-only so the web process can describe models without importing
scikit-learn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MANIFEST_FILE = "manifest.json"
ACTIVE_FILE = "ACTIVE"
# Libraries whose version must match the one that wrote the artifact: joblib
# pickles are only safe to unpickle under the same scikit-learn (its docs'
# "same environment" rule) and the same numpy major version.
PINNED_LIBRARIES = ("scikit-learn", "numpy")


class ArtifactRefused(Exception):
    """The artifact must not be loaded: unknown, outside the store, tampered or incompatible."""


@dataclass(frozen=True)
class Manifest:
    """One stored model version, as described by its manifest.json."""

    name: str
    version: str
    kind: str
    artifact: str
    sha256: str
    framework: dict[str, str]
    created_at: str
    tasks: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    directory: Path = Path(".")

    @property
    def artifact_path(self) -> Path:
        return self.directory / self.artifact

    @property
    def files(self) -> dict[str, dict[str, str]]:
        """Data files pinned beside the artifact (``details["files"]``): role -> {"path", "sha256"}."""
        files: dict[str, dict[str, str]] = self.details.get("files", {})
        return files

    def file_path(self, role: str) -> Path:
        """Where the pinned file of ``role`` lives; ArtifactRefused if this version has none."""
        entry = self.files.get(role)
        if entry is None:
            raise ArtifactRefused(f"{self.name} {self.version} has no {role} file")
        return self.directory / entry["path"]

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        """Parse ``directory/manifest.json``; raises ArtifactRefused if malformed."""
        try:
            raw = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
            manifest = cls(
                name=raw["name"],
                version=raw["version"],
                kind=raw["kind"],
                artifact=raw["artifact"],
                sha256=raw["sha256"],
                framework=dict(raw["framework"]),
                created_at=raw["created_at"],
                tasks=tuple(raw["tasks"]),
                metrics=dict(raw.get("metrics", {})),
                details=dict(raw.get("details", {})),
                directory=directory,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactRefused(f"unreadable manifest in {directory.name}: {exc}") from exc
        if Path(manifest.artifact).name != manifest.artifact:
            raise ArtifactRefused(f"{manifest.name} {manifest.version}: artifact must be a plain file name")
        files = manifest.details.get("files", {})
        # Pinned files get the artifact's rules: a plain name inside the version folder and a real hash.
        if not isinstance(files, dict) or not all(
            isinstance(e, dict)
            and isinstance(e.get("path"), str)
            and e["path"]
            and Path(e["path"]).name == e["path"]
            and SHA256_RE.match(str(e.get("sha256", "")))
            for e in files.values()
        ):
            raise ArtifactRefused(
                f"{manifest.name} {manifest.version}: details.files needs a plain file name and a sha256 per entry"
            )
        return manifest

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("directory")
        data["tasks"] = list(self.tasks)
        return data

    def incompatibilities(self) -> list[str]:
        """Reasons the installed libraries cannot safely load this artifact (empty if none)."""
        problems = []
        for library in PINNED_LIBRARIES:
            wanted = self.framework.get(library)
            if wanted is None:
                continue
            installed = _installed_version(library)
            same = (
                installed == wanted
                if library == "scikit-learn"
                else (installed is not None and installed.split(".")[0] == wanted.split(".")[0])
            )
            if not same:
                problems.append(f"trained with {library} {wanted}, installed {installed}")
        return problems

    def verify(self) -> None:
        """Raise ArtifactRefused unless the libraries and the sha256 of the artifact and every pinned file match."""
        problems = self.incompatibilities()
        if problems:
            raise ArtifactRefused(f"{self.name} {self.version}: " + "; ".join(problems))
        pinned = [("artifact", self.artifact_path, self.sha256)]
        pinned += [(f"{role} file", self.directory / e["path"], e["sha256"]) for role, e in self.files.items()]
        for what, path, expected in pinned:
            actual = file_sha256(path)
            if actual != expected:
                raise ArtifactRefused(
                    f"{self.name} {self.version}: {what} sha256 {actual[:12]}… does not match "
                    f"the manifest's {expected[:12]}…; refusing to load it"
                )


def _installed_version(library: str) -> str | None:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None


def framework_versions() -> dict[str, str]:
    """The library versions to record beside a newly written artifact."""
    versions = {lib: _installed_version(lib) or "" for lib in ("scikit-learn", "numpy", "joblib")}
    versions["python"] = platform.python_version()
    return versions


def pin_file(directory: Path, filename: str) -> dict[str, str]:
    """The ``details["files"]`` entry for a data file a trainer wrote beside its artifact."""
    return {"path": filename, "sha256": file_sha256(directory / filename)}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file; raises ArtifactRefused if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ArtifactRefused(f"artifact unreadable: {path.name}: {exc.strerror}") from exc
    return digest.hexdigest()


class ModelStore:
    """The trusted folder of model versions; every path it returns is inside it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _model_dir(self, name: str) -> Path:
        if not NAME_RE.match(name):
            raise ArtifactRefused(f"invalid model name {name!r}")
        return self.root / name

    def version_dir(self, name: str, version: str) -> Path:
        if not VERSION_RE.match(version):
            raise ArtifactRefused(f"invalid model version {version!r}")
        path = (self._model_dir(name) / version).resolve()
        if self.root not in path.parents:
            raise ArtifactRefused(f"{name} {version} is outside the model store")
        return path

    def names(self) -> list[str]:
        """Models that have at least one version."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and NAME_RE.match(p.name) and self.versions(p.name)
        )

    def versions(self, name: str) -> list[str]:
        """Versions of a model, oldest first."""
        base = self._model_dir(name)
        if not base.is_dir():
            return []
        found = [p.name for p in base.iterdir() if VERSION_RE.match(p.name) and (p / MANIFEST_FILE).is_file()]
        return sorted(found, key=_version_sort_key)

    def active_version(self, name: str) -> str | None:
        """The version serving new jobs: the ACTIVE file, else the newest."""
        versions = self.versions(name)
        try:
            chosen = (self._model_dir(name) / ACTIVE_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            chosen = ""
        if chosen in versions:
            return chosen
        return versions[-1] if versions else None

    def manifest(self, name: str, version: str | None = None) -> Manifest:
        """The manifest of a version (the active one by default)."""
        version = version or self.active_version(name)
        if version is None:
            raise ArtifactRefused(f"model {name!r} has no trained version")
        directory = self.version_dir(name, version)
        manifest = Manifest.read(directory)
        if (manifest.name, manifest.version) != (name, version):
            raise ArtifactRefused(f"{directory} holds a manifest for {manifest.name} {manifest.version}")
        return manifest

    def activate(self, name: str, version: str) -> None:
        """Point new jobs at ``version``; atomic so readers never see a partial file."""
        if version not in self.versions(name):
            raise ArtifactRefused(f"model {name!r} has no version {version!r}")
        _atomic_write(self._model_dir(name) / ACTIVE_FILE, version + "\n")

    def new_version(self, name: str, today: dt.date | None = None) -> tuple[str, Path]:
        """Allocate a fresh version id of the form YYYY-MM-DD.N and create its empty folder.

        mkdir is the lock: a folder still being written has no manifest yet, so
        two trainers publishing at once (a training job and the CLI) would both
        pick the same N without it; the loser takes the next number.
        """
        today = today or dt.datetime.now(dt.UTC).date()
        n = 1
        while True:
            version = f"{today.isoformat()}.{n}"
            directory = self.version_dir(name, version)
            try:
                directory.mkdir(parents=True)
            except FileExistsError:
                n += 1
                continue
            return version, directory

    def write_manifest(self, manifest: Manifest) -> None:
        """Write manifest.json last, so a version only appears once its artifact is complete."""
        _atomic_write(manifest.directory / MANIFEST_FILE, json.dumps(manifest.to_json(), indent=2) + "\n")


def _version_sort_key(version: str) -> list[tuple[int, int, str]]:
    # Numeric parts compare as numbers ("2026-11-23.10" after ".9"); the tag
    # keeps int and str parts from ever being compared with each other.
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.-]", version)]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
