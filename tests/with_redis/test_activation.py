"""Activating a version: refused when it cannot serve, through the API and the command line alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from jobqueue.settings import Settings
from models.activate import main as activate_main
from models.interests.train import train as train_interests
from models.registry_tables import model_blobs
from models.store import ModelStore
from tests.support.data import registry_settings, republish, store_at
from web.app import create_app


@pytest.fixture
def two_interests_versions(model_copy: Path) -> tuple[Settings, str, str]:
    """A copy of the session's registry where interests has a second version whose artifact was altered in the
    database, seen from another host (an empty cache: every file comes from the registry)."""
    store = store_at(model_copy)
    good = store.active_version("interests")
    tampered = train_interests(store, n_users=300, seed=3, activate=False).version
    sha = store.manifest("interests", tampered).sha256
    with store.registry.engine.begin() as db:
        db.execute(sa.update(model_blobs).where(model_blobs.c.sha256 == sha).values(content=b"a pickle nobody trained"))
    return registry_settings(Settings(), model_copy).replace(model_dir=model_copy / "another-host"), good, tampered


def test_activation_refuses_what_cannot_serve_and_changes_nothing(
    two_interests_versions: tuple[Settings, str, str], idle_settings: Settings
) -> None:
    host, good, tampered = two_interests_versions
    client = create_app(idle_settings.replace(database_url=host.database_url, model_dir=host.model_dir)).test_client()
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
    assert ModelStore.for_settings(host).active_version("interests") == good
    assert client.get("/models/interests").json["version"] == good


def test_activation_command_rolls_out_and_refuses_a_tampered_version(
    two_interests_versions: tuple[Settings, str, str], capsys: pytest.CaptureFixture
) -> None:
    host, good, tampered = two_interests_versions
    store = ModelStore.for_settings(host)
    with pytest.raises(SystemExit):
        activate_main(["interests", tampered], settings=host)
    assert "sha256" in capsys.readouterr().err and store.active_version("interests") == good
    other = republish(store, "interests", good)
    activate_main(["interests", other], settings=host)
    assert f"{other} serves new jobs (was {good})" in capsys.readouterr().out
    assert store.active_version("interests") == other
