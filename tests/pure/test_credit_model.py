"""The credit model without any service: data set, training (synthetic and CSV), scoring and SHAP explanations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.credit import customers, dataset, predict
from models.credit.train import main as train_main
from models.loader import LoadedModel, ModelLoader
from models.manifest import ArtifactRefused, file_sha256
from tests.support.data import CREDIT_CUSTOMERS, root_settings, store_at


@pytest.fixture(scope="module")
def credit(model_dir: Path) -> LoadedModel:
    return ModelLoader(store_at(model_dir)).get("credit")


def test_synthetic_applications_are_deterministic_with_about_8_percent_defaults() -> None:
    first, second = dataset.generate(5000, seed=1), dataset.generate(5000, seed=1)
    assert first.equals(second) and not first.equals(dataset.generate(5000, seed=2))
    assert 0.065 < first[dataset.TARGET].mean() < 0.095
    assert first[dataset.ID].is_unique and first[dataset.ID].iloc[0] == dataset.FIRST_ID
    assert 20 <= first.shape[1] - 2 <= 40


def test_synthetic_applications_miss_values_where_the_real_table_does() -> None:
    missing = dataset.generate(5000, seed=1).isna().mean()
    assert 0.5 < missing["EXT_SOURCE_1"] < 0.62 and 0.15 < missing["EXT_SOURCE_3"] < 0.25
    assert missing["OWN_CAR_AGE"] > 0.5 and missing["OCCUPATION_TYPE"] > 0.2 and missing["DAYS_EMPLOYED"] > 0.1
    assert missing["AMT_INCOME_TOTAL"] == 0 and missing["DAYS_BIRTH"] == 0


def test_clean_turns_the_days_employed_sentinel_into_a_missing_value() -> None:
    df = dataset.generate(10, seed=0)
    df.loc[0, "DAYS_EMPLOYED"] = dataset.DAYS_EMPLOYED_SENTINEL
    assert np.isnan(dataset.clean(df).loc[0, "DAYS_EMPLOYED"])


def test_manifest_records_auc_threshold_and_pins_the_customer_table(credit: LoadedModel) -> None:
    manifest = credit.manifest
    # Trained on the synthetic table, so a training job may regenerate it.
    assert manifest.kind == "credit-gbm" and manifest.tasks == ("predict", "explain", "train")
    assert manifest.metrics["auc"] > 0.7 and 0 < manifest.metrics["recommended_threshold"] < 0.5
    entry = manifest.files["customers"]
    assert entry["sha256"] == file_sha256(manifest.file_path("customers"))
    ids = customers.all_ids(manifest.file_path("customers"), "SK_ID_CURR")
    assert len(ids) == CREDIT_CUSTOMERS and ids[0] == dataset.FIRST_ID
    assert [f["name"] for f in manifest.details["features"]] == list(dataset.generate(1).columns[2:])


def test_every_synthetic_feature_has_a_readable_label_and_days_are_marked(credit: LoadedModel) -> None:
    features = {f["name"]: f for f in credit.manifest.details["features"]}
    assert all(f["label"] and f["label"] != name for name, f in features.items())
    assert {name for name, f in features.items() if f.get("unit") == "days"} == {
        name for name in features if name.startswith("DAYS_")
    }
    assert features["AMT_CREDIT"]["unit"] == "currency" and "unit" not in features["EXT_SOURCE_1"]


def test_tampered_customer_table_is_refused(model_copy: Path) -> None:
    manifest = store_at(model_copy).manifest("credit")
    with open(manifest.file_path("customers"), "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactRefused, match="customers file sha256"):
        ModelLoader(store_at(model_copy)).get("credit")


def test_pinned_file_outside_the_version_folder_is_refused(model_copy: Path) -> None:
    path = store_at(model_copy).manifest("credit").directory / "manifest.json"
    raw = json.loads(path.read_text())
    raw["details"]["files"]["customers"]["path"] = "../../interests/x.sqlite"
    path.write_text(json.dumps(raw))
    with pytest.raises(ArtifactRefused, match="plain file name"):
        store_at(model_copy).manifest("credit")


def test_a_customer_scores_the_same_by_id_and_by_raw_features(credit: LoadedModel) -> None:
    path = credit.manifest.file_path("customers")
    features = customers.get(path, "SK_ID_CURR", dataset.FIRST_ID)
    assert features is not None and set(features) == {f["name"] for f in credit.manifest.details["features"]}
    by_id, by_features = predict.predict(
        credit, [{"customer_id": dataset.FIRST_ID}, {"features": features}], {"threshold": 0.5}
    )
    assert by_id == by_features
    frame = predict.frame_for(credit, [{"customer_id": dataset.FIRST_ID}])
    assert by_id["probability"] == pytest.approx(credit.estimator.predict_proba(frame)[0, 1])


def test_decision_refuses_at_or_above_the_threshold(credit: LoadedModel) -> None:
    [result] = predict.predict(credit, [{"customer_id": dataset.FIRST_ID}], {})
    assert result["threshold"] == credit.manifest.metrics["recommended_threshold"]
    probability = result["probability"]
    [at] = predict.predict(credit, [{"customer_id": dataset.FIRST_ID}], {"threshold": probability})
    [above] = predict.predict(credit, [{"customer_id": dataset.FIRST_ID}], {"threshold": min(1.0, probability + 0.01)})
    assert at["decision"] == "refused" and above["decision"] == "accepted"


def test_local_explanation_adds_up_to_the_model_output_and_ranks_reasons(credit: LoadedModel) -> None:
    from models.credit import explain

    records = [{"customer_id": i} for i in customers.all_ids(credit.manifest.file_path("customers"), "SK_ID_CURR")[:20]]
    frame = predict.frame_for(credit, records)
    expected = credit.estimator.predict_proba(frame)[:, 1]
    for result, probability in zip(explain.local(credit, records, top=5), expected, strict=True):
        assert set(result["contributions"]) == {f["name"] for f in credit.manifest.details["features"]}
        total = result["base_value"] + sum(result["contributions"].values())
        assert 1 / (1 + np.exp(-total)) == pytest.approx(probability, abs=1e-9)
        impacts = [abs(r["contribution"]) for r in result["top_reasons"]]
        assert len(impacts) == 5 and impacts == sorted(impacts, reverse=True)
        assert impacts[0] == max(abs(v) for v in result["contributions"].values())


def test_global_sample_is_seeded_and_capped_at_the_customer_count(credit: LoadedModel) -> None:
    from models.credit import explain

    assert np.array_equal(explain.sample_ids(credit, 100, 7), explain.sample_ids(credit, 100, 7))
    assert not np.array_equal(explain.sample_ids(credit, 100, 7), explain.sample_ids(credit, 100, 8))
    assert len(explain.sample_ids(credit, 10_000, 0)) == CREDIT_CUSTOMERS


def test_training_on_a_lenders_csv(tmp_path: Path) -> None:
    table = dataset.generate(600, seed=3)
    table.loc[0, "DAYS_EMPLOYED"] = dataset.DAYS_EMPLOYED_SENTINEL  # the real table's quirk
    table = table.drop(columns=["OWN_CAR_AGE"])  # a lender's table need not have every column
    csv = tmp_path / "applications.csv"
    table.to_csv(csv, index=False)
    train_main(["--data", str(csv), "--iterations", "20"], settings=root_settings(tmp_path / "store"))
    model = ModelLoader(store_at(tmp_path / "store")).get("credit")
    assert "applications.csv" in model.manifest.details["training_data"]
    # A lender's table is not built in: only this command may retrain it, never a training job.
    assert model.manifest.tasks == ("predict", "explain")
    assert "OWN_CAR_AGE" not in [f["name"] for f in model.manifest.details["features"]]
    stored = customers.get(model.manifest.file_path("customers"), "SK_ID_CURR", int(table[dataset.ID].iloc[0]))
    assert stored is not None and stored["DAYS_EMPLOYED"] is None and "TARGET" not in stored
    [result] = predict.predict(model, [{"customer_id": int(table[dataset.ID].iloc[5])}], {})
    assert 0 <= result["probability"] <= 1


def test_csv_without_a_target_is_refused_with_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = tmp_path / "applications.csv"
    dataset.generate(100, seed=0).drop(columns=[dataset.TARGET]).to_csv(csv, index=False)
    with pytest.raises(SystemExit):
        train_main(["--data", str(csv)], settings=root_settings(tmp_path / "store"))
    assert "TARGET" in capsys.readouterr().err
    assert not (tmp_path / "store" / "credit").exists()
