"""Where `make run`'s Redis is: the record tools.run_local writes, and what the commands make of it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobqueue import local_redis

PASSWORD_URL = "redis://:s3cret-password@127.0.0.1:41234/0"


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A VAR_DIR of its own and no REDIS_URL, as in a fresh shell in the checkout."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    return tmp_path


def test_the_record_is_readable_by_its_owner_only_and_names_the_url(var_dir: Path) -> None:
    path = var_dir / "run" / "redis.json"
    local_redis.record(path, PASSWORD_URL)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": PASSWORD_URL, "pid": os.getpid()}
    assert [p.name for p in path.parent.iterdir()] == ["redis.json"]  # no partial file left behind


def test_a_command_reads_the_recorded_redis_and_says_so_without_the_password(
    var_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_redis.record(var_dir / "run" / "redis.json", PASSWORD_URL)
    assert local_redis.command_settings("scale").redis_url == PASSWORD_URL
    said = capsys.readouterr().err
    assert said.startswith("scale: Redis redis://:***@127.0.0.1:41234/0 (make run's, from ")
    assert "s3cret" not in said


def test_redis_url_wins_over_the_record(
    var_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    local_redis.record(var_dir / "run" / "redis.json", PASSWORD_URL)
    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:6379/1")
    assert local_redis.command_settings("scale").redis_url == "redis://10.0.0.5:6379/1"
    assert capsys.readouterr().err == "scale: Redis redis://10.0.0.5:6379/1 (from REDIS_URL)\n"


def test_without_a_record_the_default_is_named_as_such(var_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert local_redis.command_settings("scale").redis_url == "redis://127.0.0.1:6379/0"
    assert "the default: REDIS_URL is unset and no make run is serving" in capsys.readouterr().err


def test_the_record_of_a_make_run_that_died_is_ignored(var_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    path = var_dir / "run" / "redis.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"url": PASSWORD_URL, "pid": gone.pid}))
    assert local_redis.command_settings("scale").redis_url == "redis://127.0.0.1:6379/0"
    assert f"(pid {gone.pid}) has stopped" in capsys.readouterr().err


def test_forget_removes_only_a_record_of_its_own(var_dir: Path) -> None:
    path = var_dir / "run" / "redis.json"
    local_redis.record(path, PASSWORD_URL)
    local_redis.forget(path)
    assert not path.exists()
    # A second `make run` wrote it since: the first one's exit leaves it alone.
    path.write_text(json.dumps({"url": PASSWORD_URL, "pid": os.getppid()}))
    local_redis.forget(path)
    assert path.exists()
