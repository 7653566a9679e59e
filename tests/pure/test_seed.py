"""Models trained into an image (a seed folder, no database) are published into a registry that lacks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import build
from models.iris.train import train as train_iris
from models.manifest import ArtifactRefused
from models.seed import SeedFolder
from tests.support.data import store_at


@pytest.fixture
def only_iris(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in models reduced to iris, which trains in a second."""
    monkeypatch.setattr(build, "TRAINERS", {"iris": build.TRAINERS["iris"]})


@pytest.mark.usefixtures("only_iris")
def test_a_seed_is_published_once_as_it_was_trained(tmp_path: Path) -> None:
    seeds = SeedFolder(tmp_path / "seed")
    seeded = train_iris(seeds, estimator="logreg")
    assert seeded.version == "" and (tmp_path / "seed" / "iris" / "model.joblib").is_file()
    store = store_at(tmp_path / "registry")
    [how] = build.build_missing(store, seeds).values()
    assert how.startswith("published")
    [version] = store.versions("iris")
    assert store.manifest("iris", version).sha256 == seeded.sha256 and store.active_version("iris") == version
    assert build.build_missing(store, seeds) == {}  # present: left alone
    assert (tmp_path / "seed" / "iris" / "model.joblib").is_file()  # the image's copy stays


@pytest.mark.usefixtures("only_iris")
def test_a_seed_whose_files_do_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    seeds = SeedFolder(tmp_path / "seed")
    train_iris(seeds, estimator="logreg")
    (tmp_path / "seed" / "iris" / "model.joblib").write_bytes(b"not what was trained")
    store = store_at(tmp_path / "registry")
    with pytest.raises(ArtifactRefused, match="sha256"):
        build.build_missing(store, seeds)
    assert store.versions("iris") == []


@pytest.mark.usefixtures("only_iris")
def test_without_a_seed_the_missing_model_is_trained(tmp_path: Path) -> None:
    store = store_at(tmp_path / "registry")
    [how] = build.build_missing(store, SeedFolder(tmp_path / "no-seed")).values()
    assert how.startswith("trained") and len(store.versions("iris")) == 1
