"""Deployment files agree with each other and with the settings: Procfile, compose, app.json, Python pin."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import yaml

from jobqueue.settings import PROJECT_ROOT, Settings
from tests.support.missing import program

# Processes a platform runs once per deploy, or only when asked for.
ONE_OFF, OPTIONAL = {"release"}, {"flower"}


def _procfile() -> dict[str, str]:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text()))


def test_compose_runs_every_procfile_process_with_the_same_command() -> None:
    services = _compose()["services"]
    procfile = _procfile()
    assert {"web", "worker", "heavy", "callbacks", "archiver", "flower", "release"} <= procfile.keys()
    for name, command in procfile.items():
        assert services[name]["command"] == command, name


def test_compose_shares_no_volume_between_the_services_containers_and_publishes_on_loopback() -> None:
    services = _compose()["services"]
    for name in _procfile():
        assert "volumes" not in services[name], f"{name} mounts a volume: models must come from the registry"
        for port in services[name].get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
    assert services["web"]["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]


def test_every_setting_can_be_given_to_compose() -> None:
    listed = set(re.findall(r"^# ([A-Z][A-Z0-9_]*)=", (PROJECT_ROOT / "compose.env").read_text(), re.MULTILINE))
    set_by_compose = {"REDIS_URL", "DATABASE_URL", "MODEL_DIR", "MODEL_SEED_DIR", "REDIS_PORT"}
    assert listed | set_by_compose == {name.upper() for name in Settings.model_fields}
    assert all(
        service.get("env_file") == "compose.env"
        for name, service in _compose()["services"].items()
        if name in _procfile()
    )


def test_compose_file_is_accepted_by_docker_compose() -> None:
    binary = program("docker-compose", package="docker-compose")
    checked = subprocess.run(
        [binary, "config", "-q"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_app_json_runs_the_procfiles_processes_with_redis_postgres_and_generated_secrets() -> None:
    app = json.loads((PROJECT_ROOT / "app.json").read_text())
    assert set(app["formation"]) == set(_procfile()) - ONE_OFF - OPTIONAL
    plans = {addon["plan"].split(":")[0] for addon in app["addons"]}
    assert plans == {"heroku-redis", "heroku-postgresql"}
    assert app["env"]["API_KEYS"]["generator"] == "secret" and app["env"]["CALLBACK_SECRET"]["generator"] == "secret"
    assert set(app["env"]) <= {name.upper() for name in Settings.model_fields}
    # What a platform sets must parse: the settings it names exist, and take these values.
    Settings.from_env({name: spec.get("value", "x" * 64) for name, spec in app["env"].items()})


def test_python_pin_is_the_version_the_tests_run_on() -> None:
    pinned = (PROJECT_ROOT / ".python-version").read_text().strip()
    assert pinned == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert "-c constraints.txt" in (PROJECT_ROOT / "requirements.txt").read_text()
