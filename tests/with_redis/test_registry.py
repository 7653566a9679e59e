"""The model registry every host shares: publish on one, see it on another; a bounded history; pinned versions kept.

Two "hosts" here are two stores (or two apps) on the same database with
caches of their own, so that nothing one of them wrote to its disk can be
what the other one reads.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobqueue.database import migrate
from jobqueue.settings import Settings
from models.commands import prune_after_publish
from models.iris.train import train as train_iris
from models.loader import ModelLoader
from models.manifest import ArtifactRefused
from models.registry_tables import model_blobs
from models.store import ModelStore
from tests.support.data import registry_settings, republish, store_at
from tests.support.processes import eventually
from tools.postgres_server import PostgresServer
from web.app import create_app

FLOWER = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.6, "petal_width": 1.5}


def _host(settings: Settings, root: Path, name: str) -> Settings:
    """``settings`` as seen from another host: the same registry, a cache of its own."""
    return settings.replace(model_dir=root / name, registry_poll_s=0.1)


def test_a_version_published_on_one_host_is_what_another_hosts_next_job_gets(
    model_copy: Path, idle_settings: Settings
) -> None:
    shared = registry_settings(idle_settings, model_copy)
    web = create_app(_host(shared, model_copy, "web-host")).test_client()
    before = web.post("/jobs", json={"model": "iris", "input": FLOWER}).json["model_version"]
    trainer = ModelStore.for_settings(_host(shared, model_copy, "heavy-host"))
    trained = train_iris(trainer, estimator="logreg", seed=7, activate=True).version
    assert trained != before

    def served() -> str:
        return str(web.post("/jobs", json={"model": "iris", "input": FLOWER}).json["model_version"])

    assert eventually(lambda: served() == trained, 5, 0.05, message="the web serving the new version")
    assert (model_copy / "web-host" / "iris" / trained / "model.joblib").is_file()  # copied, not shared
    # And back, through the other web host's API: the first web sees the rollback too.
    other = create_app(_host(shared, model_copy, "web-host-2")).test_client()
    assert other.put("/models/iris/active", json={"version": before}).status_code == 200
    assert eventually(lambda: served() == before, 5, 0.05, message="the web serving the rolled-back version")


def test_a_file_altered_in_the_registry_is_refused_before_anything_is_unpickled(
    model_copy: Path, idle_settings: Settings, tmp_path: Path
) -> None:
    store = store_at(model_copy)
    version = train_iris(store, estimator="logreg", seed=8, activate=False).version
    marker = tmp_path / "unpickled"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[Path]]:
            return (Path.touch, (marker,))

    sha = store.manifest("iris", version).sha256
    with store.registry.engine.begin() as db:
        db.execute(sa.update(model_blobs).where(model_blobs.c.sha256 == sha).values(content=pickle.dumps(Exploit())))
    fresh_host = ModelStore.for_settings(_host(registry_settings(idle_settings, model_copy), model_copy, "fresh"))
    with pytest.raises(ArtifactRefused, match="sha256"):
        ModelLoader(fresh_host).get("iris", version)
    assert not marker.exists(), "an altered artifact was unpickled"
    assert not (model_copy / "fresh" / "iris" / version).exists()


def test_history_keeps_the_newest_versions_the_active_one_and_what_jobs_pin(
    model_copy: Path, idle_settings: Settings
) -> None:
    settings = registry_settings(idle_settings, model_copy).replace(model_versions_kept=3)
    store, web = ModelStore.for_settings(settings), create_app(settings).test_client()
    store.prune(keep=0, pinned={})  # earlier tests may have trained iris into the registry this copies
    [original] = store.versions("iris")  # active, and the oldest
    pinned = train_iris(store, estimator="logreg", seed=9, activate=False).version
    queued = web.post("/jobs", json={"model": "iris", "model_version": pinned, "input": FLOWER}).json
    assert queued["status"] == "queued"  # no worker consumes this database: the job pins its version
    unique_sha = store.manifest("iris", pinned).sha256
    newer = [republish(store, "iris", original) for _ in range(4)]
    removed = prune_after_publish(store, settings)
    assert removed == [f"iris {newer[0]}"]
    assert store.versions("iris") == [original, pinned, *newer[1:]]

    assert web.delete(f"/jobs/{queued['id']}").status_code == 200  # nothing pins it any more
    assert prune_after_publish(store, settings) == [f"iris {pinned}"]
    assert store.versions("iris") == [original, *newer[1:]]
    with store.registry.engine.connect() as db:  # its artifact was its own: gone from the database too
        assert db.execute(sa.select(model_blobs.c.sha256).where(model_blobs.c.sha256 == unique_sha)).first() is None
    # A host's cache forgets what the registry dropped when it next looks.
    assert not (store.root / "iris" / pinned).exists()
    web.get("/models")
    assert sorted(p.name for p in (settings.model_dir / "iris").iterdir()) == sorted([original, *newer[1:]])


def test_postgresql_serves_as_the_registry(model_dir: Path, tmp_path: Path) -> None:
    with PostgresServer() as server:
        settings = Settings(database_url=server.url, model_dir=tmp_path / "cache", model_versions_kept=2)
        migrate(settings)
        migrate(settings)  # idempotent: a release phase runs it at every deploy
        store = ModelStore.for_settings(settings)
        first = train_iris(store, estimator="logreg", seed=1, activate=True).version
        second = train_iris(store, estimator="logreg", seed=2, activate=False).version
        third = republish(store, "iris", second)
        assert store.active_version("iris") == first and store.versions("iris") == [first, second, third]
        other_host = ModelStore.for_settings(settings.replace(model_dir=tmp_path / "other-cache"))
        model = ModelLoader(other_host).get("iris", second)
        assert model.manifest.sha256 == store.manifest("iris", second).sha256
        assert store.prune(keep=1, pinned={"iris": {second}}) == []  # active, pinned, newest: all spared
        assert store.prune(keep=1, pinned={}) == [("iris", second)]
        assert other_host.versions("iris") == [first, third]
