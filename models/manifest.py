"""Model manifests: what a stored artifact is, where it lives, and whether it may be loaded.

A version is a folder holding ``manifest.json`` beside its artifact and data
files: in the registry's database every host shares (``models.registry_db``),
and copied into each host's cache (``models.cache``). This module is
stdlib-only so the web process can describe models without scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
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
        except (OSError, ValueError) as exc:
            raise ArtifactRefused(f"unreadable manifest in {directory.name}: {exc}") from exc
        return cls.from_json(raw, directory)

    @classmethod
    def from_json(cls, raw: Any, directory: Path) -> "Manifest":
        """A manifest from its JSON, its files in ``directory``; raises ArtifactRefused if malformed."""
        try:
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
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactRefused(f"malformed manifest for {directory.name}: {exc}") from exc
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


def version_sort_key(version: str) -> list[tuple[int, int, str]]:
    """Orders version ids oldest first."""
    # Numeric parts compare as numbers ("2026-11-23.10" after ".9"); the tag
    # keeps int and str parts from ever being compared with each other.
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.-]", version)]
