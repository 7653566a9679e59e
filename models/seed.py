"""Built-in models trained ahead, outside any database: ``<seed_dir>/<name>/`` holds a staged version.

The Dockerfile trains into such a folder when it builds the image, where no
database is reachable; ``python -m models.build`` later publishes each one into
a registry that lacks the model, after checking its files against its manifest,
instead of training it again on every host.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from models.manifest import MANIFEST_FILE, Manifest


class SeedFolder:
    """A publisher (like ``ModelStore``) whose versions land in ``<root>/<name>/`` instead of a registry."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    @contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """An empty folder for the version's files; it becomes the seed when published."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{name}-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, draft: Manifest, activate: bool) -> Manifest:
        """Keep the staged version as the seed of its model (its id is given when it is published for real)."""
        target = self.root / draft.name
        shutil.rmtree(target, ignore_errors=True)
        (draft.directory / MANIFEST_FILE).write_text(json.dumps(draft.to_json(), indent=2) + "\n", encoding="utf-8")
        draft.directory.rename(target)
        return dataclasses.replace(draft, directory=target)

    def seed(self, name: str) -> Manifest | None:
        """The seeded version of ``name``, if there is one."""
        folder = self.root / name
        return Manifest.read(folder) if (folder / MANIFEST_FILE).is_file() else None
