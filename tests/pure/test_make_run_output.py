"""What `make run` says while it sets up: training progress, and a banner with every address it serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobqueue.settings import Settings
from models import build
from tests.support.data import root_settings, store_at
from tools.run_local import banner

SETTINGS = Settings(redis_url="redis://:pw@127.0.0.1:41234/0", port=8123, flower_port=5566)


def test_the_banner_names_flower_only_when_it_runs() -> None:
    with_flower = banner(SETTINGS, True, ["web", "worker", "flower"])
    assert "  Flower           http://127.0.0.1:5566\n" in with_flower
    assert "Flower" not in banner(SETTINGS, True, ["web", "worker"])
    assert "http://127.0.0.1:8123" in with_flower and "redis://:***@127.0.0.1:41234/0" in with_flower
    assert "pw@" not in with_flower


def test_the_banner_says_where_a_protected_flower_listens() -> None:
    shown = banner(SETTINGS.replace(flower_address="10.1.2.3", flower_basic_auth="ops:secret"), False, ["flower"])
    assert "  Flower           http://10.1.2.3:5566 (FLOWER_BASIC_AUTH's user and password)\n" in shown
    assert "secret" not in shown and "(from REDIS_URL)" in shown


def test_training_the_missing_models_says_which_one_and_how_long_it_took(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "TRAINERS", {"iris": build.TRAINERS["iris"]})  # the quick one, really trained
    build.main([], settings=root_settings(tmp_path).replace(model_seed_dir=tmp_path / "no-seed"))
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "training iris…"
    assert re.fullmatch(r"trained iris in \d+\.\d s \(version \d{4}-\d\d-\d\d\.1\)", said[1]), said
    assert store_at(tmp_path).versions("iris")
