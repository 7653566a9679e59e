"""Roll a model out or back: point new jobs at one of its stored versions (``python -m models.activate``).

Jobs carry the version they were submitted with, so activation never touches
work already queued or running, and workers load a newly activated version on
its first job: no restart. Rolling back is activating the previous version.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from jobqueue.settings import Settings
from models.commands import cli_store
from models.kinds import KINDS
from models.manifest import ArtifactRefused, Manifest
from models.store import ModelStore


class ActivationRefused(Exception):
    """The version exists but cannot serve (tampered, other libraries, unknown kind)."""


def unservable(manifest: Manifest) -> str | None:
    """Why this version could not serve jobs here, or None if it can (hashes every pinned file)."""
    if manifest.kind not in KINDS:
        return f"model kind {manifest.kind!r} is not supported by this service"
    try:
        manifest.verify()
    except ArtifactRefused as exc:
        return str(exc)
    return None


def activate(
    store: ModelStore, name: str, version: str, check: Callable[[Manifest], str | None] = unservable
) -> str | None:
    """Serve ``version`` of ``name`` to new jobs once ``check`` passes; returns the version it replaces.

    Raises LookupError for an unknown version and ActivationRefused for one that cannot serve.
    """
    if version not in store.versions(name):
        raise LookupError(f"model {name!r} has no version {version!r}")
    try:
        problem = check(store.manifest(name, version))
    except ArtifactRefused as exc:
        problem = str(exc)
    if problem:
        raise ActivationRefused(f"{name} {version} cannot serve: {problem}")
    previous = store.active_version(name)
    store.activate(name, version)
    return previous


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Command line: activate a version, or list a model's versions (the registry of DATABASE_URL)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("version", nargs="?", help="omit to list the versions")
    args = parser.parse_args(argv)
    store = cli_store(settings or Settings.from_env())
    try:
        snapshot = store.snapshot()
        versions, active = snapshot.versions.get(args.name, []), snapshot.active_version(args.name)
        if not versions:
            raise LookupError(f"no model named {args.name!r} in the registry")
        if args.version is None:
            for version in versions:
                print(f"{'*' if version == active else ' '} {version}")
            return
        previous = activate(store, args.name, args.version)
    except (LookupError, ActivationRefused, ArtifactRefused, OSError) as exc:
        parser.error(str(exc))
    print(f"{args.name}: {args.version} serves new jobs (was {previous})")


if __name__ == "__main__":
    main()
