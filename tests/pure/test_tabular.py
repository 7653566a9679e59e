"""Tabular and iris classifiers, trainers and the loaded-version cache, without any service running."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.iris.train import train as train_iris
from models.loader import ModelLoader
from models.store import ModelStore
from models.tabular import predict as tabular_predict
from models.tabular.train_csv import main as train_csv
from models.training import TRAIN_STEPS
from models.validation import InputInvalid, validate_job
from tests.support.data import republish, root_settings, store_at, store_settings, write_clinic_table

FLOWER = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


@pytest.fixture(scope="module")
def iris_store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    store = store_at(tmp_path_factory.mktemp("iris"))
    train_iris(store, estimator="logreg")
    return store


def test_csv_training_derives_the_schema_and_records_the_search_and_held_out_scores(tmp_path: Path) -> None:
    csv = write_clinic_table(tmp_path / "clinic.csv")
    train_csv(
        [
            "--name",
            "clinic",
            "--data",
            str(csv),
            "--target",
            "Outcome",
            "--drop",
            "patient id",
        ],
        settings=root_settings(tmp_path / "store"),
    )
    model = ModelLoader(store_at(tmp_path / "store")).get("clinic")
    manifest = model.manifest
    assert [f["name"] for f in manifest.details["features"]] == ["plasma glucose", "BMI", "noise"]
    assert manifest.details["classes"] == ["0", "1"] and manifest.details["estimator"] == "svm"
    assert set(manifest.details["best_params"]) == {"C", "gamma"}
    assert manifest.details["cv"] == {
        "folds": 5,
        "scoring": "roc_auc",
        "candidates": 16,
        "best_score": manifest.details["cv"]["best_score"],
    }
    assert manifest.metrics["n_train"] == 160 and manifest.metrics["n_test"] == 40
    # The outcome follows glucose and BMI: held-out rows are ranked far better than chance.
    assert manifest.metrics["roc_auc"] > 0.85 and manifest.metrics["accuracy"] > 0.7
    [high, low] = tabular_predict.predict(
        model, [{"plasma glucose": 190, "BMI": 42, "noise": 0}, {"plasma glucose": 80, "BMI": 21, "noise": 0}]
    )
    assert high["class"] == "1" and low["class"] == "0"
    assert sum(high["probabilities"].values()) == pytest.approx(1, abs=1e-3) and high["probabilities"]["1"] > 0.5


def test_csv_model_input_needs_every_column_as_a_number(tmp_path: Path) -> None:
    train_csv(
        [
            "--name",
            "clinic",
            "--data",
            str(write_clinic_table(tmp_path / "c.csv")),
            "--target",
            "Outcome",
            "--drop",
            "patient id",
            "--estimator",
            "logreg",
        ],
        settings=root_settings(tmp_path / "store"),
    )
    manifest = store_at(tmp_path / "store").manifest("clinic")
    ok = validate_job(manifest, "predict", [{"plasma glucose": 99, "BMI": 25.5, "noise": 0}], False, None)
    assert ok.records == [{"plasma glucose": 99.0, "BMI": 25.5, "noise": 0.0}]
    with pytest.raises(InputInvalid) as refused:
        validate_job(manifest, "predict", [{"plasma glucose": "99", "BMI": True, "Outcome": 1}], False, None)
    assert {(d["field"], d["type"]) for d in refused.value.details} == {
        ("input.plasma glucose", "float_type"),
        ("input.BMI", "float_type"),
        ("input.noise", "missing"),
        ("input.Outcome", "extra_forbidden"),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.assign(ward="A"), "features must be numeric; column 'ward' is not (leave it out with --drop)"),
        (lambda df: df.assign(ward="A", unit="B"), "columns 'ward', 'unit' are not (leave them out with --drop)"),
        (lambda df: df.assign(Outcome=df["Outcome"].where(df.index > 0)), "1 row has no Outcome; remove or fill it"),
        (
            lambda df: df.assign(Outcome=df["Outcome"].where(df.index > 1)),
            "2 rows have no Outcome; remove or fill them",
        ),
        (lambda df: df.assign(Outcome=1), "single class"),
        (lambda df: df.drop(columns=["Outcome"]), "c.csv has no column 'Outcome'; its columns: patient id,"),
    ],
)
def test_unusable_csv_is_refused_with_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture, change, message: str
) -> None:
    csv = write_clinic_table(tmp_path / "c.csv")
    change(pd.read_csv(csv)).to_csv(csv, index=False)
    with pytest.raises(SystemExit):
        train_csv(
            ["--name", "clinic", "--data", str(csv), "--target", "Outcome"], settings=root_settings(tmp_path / "store")
        )
    assert message in capsys.readouterr().err
    assert store_at(tmp_path / "store").versions("clinic") == []


def test_csv_training_will_not_take_over_a_model_of_another_kind(
    iris_store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit):
        train_csv(
            [
                "--name",
                "iris",
                "--data",
                str(write_clinic_table(tmp_path / "c.csv")),
                "--target",
                "Outcome",
            ],
            settings=store_settings(iris_store),
        )
    assert "model 'iris' already exists, of kind iris-classifier; give the table its own name" in (
        capsys.readouterr().err
    )


def test_iris_accepts_snake_case_and_kaggle_style_names_alike(iris_store: ModelStore) -> None:
    manifest = iris_store.manifest("iris")
    kaggle = {"SepalLengthCm": 5.1, "SepalWidthCm": 3.5, "PetalLengthCm": 1.4, "PetalWidthCm": 0.2}
    jobs = [validate_job(manifest, "predict", [record], False, None) for record in (FLOWER, kaggle)]
    assert jobs[0].records == jobs[1].records == [FLOWER]
    with pytest.raises(InputInvalid) as refused:
        validate_job(manifest, "predict", [{**FLOWER, "SepalLengthCm": 5.1, "petal_width": -1}], False, None)
    assert {d["field"] for d in refused.value.details} == {"input.SepalLengthCm", "input.petal_width"}


def test_iris_classifies_species_with_probabilities(iris_store: ModelStore) -> None:
    model = ModelLoader(iris_store).get("iris")
    virginica = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.8, "petal_width": 2.3}
    [(setosa_label, setosa), (virginica_label, _)] = tabular_predict.classify(model, [FLOWER, virginica])
    assert (setosa_label, virginica_label) == ("setosa", "virginica")
    assert set(setosa) == {"setosa", "versicolor", "virginica"} and setosa["setosa"] > 0.8
    assert model.manifest.metrics["accuracy"] >= 0.9 and model.manifest.tasks == ("predict", "train")


def test_trainer_reports_each_step_and_creates_the_version_only_at_the_end(iris_store: ModelStore) -> None:
    before = iris_store.versions("iris")
    seen = []
    manifest = train_iris(
        iris_store,
        estimator="logreg",
        activate=False,
        progress=lambda done, total: seen.append((done, total, len(iris_store.versions("iris")))),
    )
    assert seen == [(1, TRAIN_STEPS, len(before)), (2, TRAIN_STEPS, len(before)), (3, TRAIN_STEPS, len(before) + 1)]
    assert iris_store.active_version("iris") == before[-1] != manifest.version


def test_worker_keeps_only_the_most_recently_used_versions_of_a_model(iris_store: ModelStore) -> None:
    source = iris_store.active_version("iris")
    first, second, third = (republish(iris_store, "iris", source) for _ in range(3))
    registry = ModelLoader(iris_store, versions_per_model=2)
    for version in (first, second, first, third):
        registry.get("iris", version)
    # second was the least recently used when third arrived.
    assert registry.loaded() == [("iris", first), ("iris", third)]
