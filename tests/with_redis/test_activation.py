"""Activating a version: refused when it cannot serve, through the API and the command line alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobqueue.settings import Settings
from models.activate import main as activate_main
from models.manifest import ModelStore
from tests.support.data import clone_version
from web.app import create_app


@pytest.fixture
def two_interests_versions(model_copy: Path) -> tuple[ModelStore, str, str]:
    """A copy of the session store where interests has a second, tampered version."""
    store = ModelStore(model_copy)
    good, tampered = store.active_version("interests"), "2000-01-01.1"
    folder = clone_version(store, "interests", good, tampered)
    (folder / store.manifest("interests", good).artifact).write_bytes(b"a pickle nobody trained")
    return store, good, tampered


def test_activation_refuses_what_cannot_serve_and_changes_nothing(
    two_interests_versions: tuple[ModelStore, str, str], idle_settings: Settings
) -> None:
    store, good, tampered = two_interests_versions
    client = create_app(idle_settings.replace(model_dir=store.root)).test_client()
    refused = client.put("/models/interests/active", json={"version": tampered})
    assert refused.status_code == 409 and refused.json["error"]["type"] == "version_unavailable"
    assert "sha256" in refused.json["error"]["message"]
    for path, body, status in [
        ("/models/interests/active", {"version": "2099-01-01.1"}, 404),
        ("/models/horoscope/active", {"version": good}, 404),
        ("/models/interests/active", {"version": 7}, 422),
        ("/models/interests/active", {"version": good, "force": True}, 422),
    ]:
        assert client.put(path, json=body).status_code == status, (path, body)
    assert client.put("/models/interests/active", data="[", content_type="application/json").status_code == 400
    assert store.active_version("interests") == good
    assert client.get("/models/interests").json["version"] == good


def test_activation_command_rolls_out_and_refuses_a_tampered_version(
    two_interests_versions: tuple[ModelStore, str, str], capsys: pytest.CaptureFixture
) -> None:
    store, good, tampered = two_interests_versions
    with pytest.raises(SystemExit):
        activate_main(["interests", tampered, "--model-dir", str(store.root)])
    assert "sha256" in capsys.readouterr().err and store.active_version("interests") == good
    other = "2000-01-02.1"
    clone_version(store, "interests", good, other)
    activate_main(["interests", other, "--model-dir", str(store.root)])
    assert f"{other} serves new jobs (was {good})" in capsys.readouterr().out
    assert store.active_version("interests") == other
