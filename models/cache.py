"""This host's copy of registry versions: ``<root>/<name>/<version>/`` with the manifest and its files.

The registry is the truth; this folder only saves downloads. A file enters it
only when its content hashes to the sha256 the manifest pins (else
ArtifactRefused), and every load verifies the files again (``Manifest.verify``)
before anything is unpickled. A version folder appears whole: it is built
beside its final place and renamed into it, so another process on the host
never sees half of one. Files are kept once by content under ``.blobs`` and
hard-linked into the versions that use them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from models.manifest import MANIFEST_FILE, NAME_RE, VERSION_RE, ArtifactRefused, Manifest, file_sha256

BLOBS = ".blobs"
STAGING = ".staging"


class ModelCache:
    """Version folders materialised from the registry, and a place to stage a version before it is published."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        # Manifests already read here: a version never changes, so one read serves every later
        # submission (which would otherwise parse manifest.json each time) while its folder exists.
        self._read: dict[tuple[str, str], Manifest] = {}

    def version_dir(self, name: str, version: str) -> Path:
        """Where a version lives on this host; ArtifactRefused for a name or version that is not plain."""
        if not NAME_RE.match(name) or not VERSION_RE.match(version):
            raise ArtifactRefused(f"invalid model name or version {name!r} {version!r}")
        return self.root / name / version

    def cached(self, name: str, version: str) -> Manifest | None:
        """The version's manifest if this host already holds the version whole, else None."""
        directory = self.version_dir(name, version)
        if not (directory / MANIFEST_FILE).is_file():
            self._read.pop((name, version), None)
            return None
        found = self._read.get((name, version))
        if found is None:
            found = self._read[name, version] = Manifest.read(directory)
        return found

    def materialise(
        self, manifest: Mapping[str, Any], files: Mapping[str, str], fetch: Callable[[str], bytes]
    ) -> Manifest:
        """Build the version's folder from ``manifest`` and its files (filename -> sha256), fetching any
        content this host lacks; a fetched file that does not hash to its sha256 is refused."""
        name, version = str(manifest["name"]), str(manifest["version"])
        held = self.cached(name, version)
        if held is not None:
            return held
        final = self.version_dir(name, version)
        with self._building(name) as building:
            for filename, sha256 in files.items():
                if Path(filename).name != filename:
                    raise ArtifactRefused(f"{name} {version}: file name {filename!r} is not a plain name")
                os.link(self._blob(sha256, fetch), building / filename)
            (building / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            return self._install(building, final)

    def adopt(self, staged: Path, manifest: Manifest) -> Manifest:
        """Move a version just published from its staging folder into place (it needs no download)."""
        final = self.version_dir(manifest.name, manifest.version)
        for filename in [manifest.artifact, *(entry["path"] for entry in manifest.files.values())]:
            self._keep_blob(staged / filename, file_sha256(staged / filename))
        (staged / MANIFEST_FILE).write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
        return self._install(staged, final)

    @contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """An empty folder to write a new version of ``name`` into before it is published; removed after."""
        with self._building(name) as folder:
            yield folder

    def retain(self, keep: set[tuple[str, str]]) -> list[tuple[str, str]]:
        """Delete the versions not in ``keep`` (pruned from the registry) and files no version uses."""
        removed = []
        for name_dir in self._children(self.root):
            for version_dir in self._children(name_dir):
                if (name_dir.name, version_dir.name) not in keep:
                    self._read.pop((name_dir.name, version_dir.name), None)
                    shutil.rmtree(version_dir, ignore_errors=True)
                    removed.append((name_dir.name, version_dir.name))
        for blob in self._children(self.root / BLOBS):
            if blob.stat().st_nlink == 1:  # no version folder links to it any more
                blob.unlink(missing_ok=True)
        return removed

    def _blob(self, sha256: str, fetch: Callable[[str], bytes]) -> Path:
        path = self.root / BLOBS / sha256
        if path.is_file():
            return path
        content = fetch(sha256)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ArtifactRefused(f"the registry's file {sha256[:12]}… does not hash to its sha256; refusing it")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
        return path

    def _keep_blob(self, file: Path, sha256: str) -> None:
        """Link a staged file into the blob store, so later versions with the same content reuse it."""
        path = self.root / BLOBS / sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            with suppress(FileExistsError):
                os.link(file, path)

    @contextmanager
    def _building(self, name: str) -> Iterator[Path]:
        if not NAME_RE.match(name):
            raise ArtifactRefused(f"invalid model name {name!r}")
        parent = self.root / STAGING
        parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=parent, prefix=f"{name}-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _install(built: Path, final: Path) -> Manifest:
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            built.rename(final)
        except OSError:
            if not (final / MANIFEST_FILE).is_file():  # not another process's copy of the same version
                raise
        return Manifest.read(final)

    @staticmethod
    def _children(folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        return [child for child in folder.iterdir() if not child.name.startswith(".")]
