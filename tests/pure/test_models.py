"""The interests model and the model store, without any service running."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from models.interests import dataset
from models.interests.predict import predict
from models.interests.weights import (
    MIN_BATCH_ROWS,
    cluster_weights,
    nnls_batch,
    nnls_components,
    nnls_rows,
)
from models.loader import ModelLoader
from models.manifest import ArtifactRefused
from tests.support.data import republish, store_at


@pytest.fixture(scope="module")
def interests(model_dir: Path):
    return ModelLoader(store_at(model_dir)).get("interests")


def test_synthetic_data_is_deterministic_and_rich_enough() -> None:
    first, second = dataset.generate(200, seed=7), dataset.generate(200, seed=7)
    assert np.array_equal(first.matrix, second.matrix) and first.cities == second.cities
    assert len(dataset.VOCABULARY) >= 30 and len(set(dataset.VOCABULARY)) == len(dataset.VOCABULARY)
    assert len(set(first.cities)) > 3
    assert not np.array_equal(first.matrix, dataset.generate(200, seed=8).matrix)


def test_manifest_records_what_a_data_scientist_needs(interests) -> None:
    manifest = interests.manifest
    assert len(manifest.sha256) == 64
    assert manifest.framework["scikit-learn"] and manifest.framework["python"]
    assert manifest.details["vocabulary"] == list(dataset.VOCABULARY)
    assert sum(manifest.details["cluster_sizes"].values()) == manifest.metrics["n_users"]
    assert set(manifest.details["cluster_sizes"]) == {"1", "2", "3", "4"}
    # The clusters recover the hidden personas far better than chance (0).
    assert manifest.metrics["persona_adjusted_rand_index"] > 0.5


def test_clusters_are_numbered_from_one_and_rooms_join_city_and_cluster(interests) -> None:
    records = [
        {"interests": terms, "city": city}
        for terms, city in [
            (["surfing", "hiking"], "São Paulo"),
            (["python", "robotics"], "Kraków"),
            (["painting", "jazz"], "New York"),
            (["cooking", "wine"], "Lisbon"),
        ]
    ]
    results = predict(interests, records, {})
    clusters = [r["cluster"] for r in results]
    assert all(1 <= c <= 4 for c in clusters)
    # Four unmistakable personas land in four different clusters.
    assert len(set(clusters)) == 4
    assert [r["room"] for r in results] == [
        f"sao-paulo-{clusters[0]}",
        f"krakow-{clusters[1]}",
        f"new-york-{clusters[2]}",
        f"lisbon-{clusters[3]}",
    ]
    for r in results:
        assert set(r["scores"]) == {"1", "2", "3", "4"}
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert max(r["scores"], key=r["scores"].get) == str(r["cluster"])


def test_unknown_interests_are_reported_and_matching_ignores_case_and_separators(interests) -> None:
    [result] = predict(interests, [{"interests": ["Machine_Learning", "knitting", " PYTHON "], "city": "Porto"}], {})
    assert result["unknown_interests"] == ["knitting"]
    [plain] = predict(interests, [{"interests": ["machine learning", "python"], "city": "Porto"}], {})
    assert result["cluster"] == plain["cluster"] and result["scores"] == plain["scores"]


def test_batch_prediction_matches_one_at_a_time_in_order(interests) -> None:
    data = dataset.generate(200, seed=3)  # the batch solve against one row at a time
    assert len(data.matrix) >= MIN_BATCH_ROWS
    records = [
        {"interests": [dataset.VOCABULARY[i] for i in np.flatnonzero(row)], "city": city}
        for row, city in zip(data.matrix, data.cities, strict=True)
    ]
    batch = predict(interests, records, {})
    assert batch == [predict(interests, [r], {})[0] for r in records]


def test_tampered_artifact_is_refused_before_unpickling(model_copy: Path, tmp_path: Path) -> None:
    store = store_at(model_copy)
    manifest = store.manifest("interests")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    manifest.artifact_path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ArtifactRefused, match="sha256"):
        ModelLoader(store).get("interests")
    assert not marker.exists(), "a tampered artifact was unpickled"


def test_artifact_from_another_scikit_learn_is_refused(model_copy: Path) -> None:
    path = store_at(model_copy).manifest("interests").directory / "manifest.json"
    raw = json.loads(path.read_text())
    raw["framework"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(raw))
    # A process that reads this host's copy now (a store keeps what it has read: versions never change).
    with pytest.raises(ArtifactRefused, match=r"scikit-learn 0\.24\.2"):
        ModelLoader(store_at(model_copy)).get("interests")


@pytest.mark.parametrize(
    ("name", "version"), [("../etc", "1"), ("interests", "../../x"), ("Interests", "1"), ("interests", "/abs")]
)
def test_store_refuses_paths_outside_itself(model_dir: Path, name: str, version: str) -> None:
    with pytest.raises(ArtifactRefused):
        store_at(model_dir).manifest(name, version)


def test_versions_sort_numerically_and_the_activated_version_wins(model_copy: Path) -> None:
    store = store_at(model_copy)
    [original] = store.versions("interests")
    added = [republish(store, "interests", original) for _ in range(10)]
    # .10 and .11 come after .9: the ids compare as numbers, not as text.
    assert [v.rsplit(".", 1)[1] for v in added] == [str(n) for n in range(2, 12)]
    assert store.versions("interests") == [original, *added]
    assert store.active_version("interests") == original
    store.activate("interests", added[3])
    assert store_at(model_copy).active_version("interests") == added[3]


def test_nnls_weights_match_the_pipelines_own_transform(interests) -> None:
    # The worker's fast path must give every user the cluster NMF.transform gives.
    data = dataset.generate(2000, seed=11)
    assert nnls_components(interests.estimator) is not None
    reference = interests.estimator.transform(data.matrix)
    batch = cluster_weights(interests.estimator, data.matrix)
    one_by_one = np.vstack([cluster_weights(interests.estimator, row[None, :]) for row in data.matrix[:300]])
    for fast, expected in ((batch, reference), (one_by_one, reference[:300])):
        assert np.array_equal(fast.argmax(axis=1), expected.argmax(axis=1))
        assert np.abs(fast - expected).max() < 1e-4  # transform's own stopping tolerance


@pytest.mark.parametrize("n_components", [2, 4, 5])
def test_the_batch_solve_is_the_exact_nnls_optimum(n_components: int) -> None:
    # Large batches try every support at once; scipy's NNLS, row by row, is the reference.
    rng = np.random.default_rng(n_components)
    components = rng.random((len(dataset.VOCABULARY), n_components))
    rows = (rng.random((500, len(dataset.VOCABULARY))) < 0.15).astype(float)
    assert np.abs(nnls_batch(rows, components) - nnls_rows(rows, components)).max() < 1e-9


def test_a_pipeline_nnls_cannot_reproduce_goes_through_its_own_transform(interests) -> None:
    regularised = clone(interests.estimator).set_params(nmf__alpha_W=0.1, nmf__max_iter=200)
    data = dataset.generate(300, seed=12)
    regularised.fit(data.matrix)
    assert nnls_components(regularised) is None
    assert np.array_equal(cluster_weights(regularised, data.matrix), regularised.transform(data.matrix))


def test_a_cached_version_is_read_once_and_forgotten_once_pruned(model_copy: Path) -> None:
    store = store_at(model_copy)
    version = store.active_version("interests")
    assert version is not None
    first = store.cache.cached("interests", version)
    assert first is not None and first.version == version
    assert store.cache.cached("interests", version) is first  # every later submission: no file read
    assert ("interests", version) in store.cache.retain(set())  # pruned from the registry
    assert store.cache.cached("interests", version) is None
