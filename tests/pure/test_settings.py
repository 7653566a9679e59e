"""Settings: read from the environment in one place, validated, and documented field for field."""

from __future__ import annotations

import re

import pytest

from jobqueue.settings import PROJECT_ROOT, Settings


def _documented() -> set[str]:
    """The variables the README's configuration table names in its first column."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row)}


def test_the_readme_documents_every_setting_and_nothing_else() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(fields - _documented()) == [], "settings missing from the README's table"
    assert sorted(_documented() - fields) == [], "the README documents variables Settings does not read"


def test_each_setting_comes_from_its_upper_cased_variable_as_its_own_type() -> None:
    settings = Settings.from_env(
        {
            "JOB_TTL_S": "60",
            "WARM_MODELS": "off",
            "REDIS_PORT": "6390",
            "MAX_WAIT_S": "2.5",
            "WEB_WORKER_CLASS": "sync",
            "LOG_LEVEL": "",
        }
    )
    assert (settings.job_ttl_s, settings.warm_models, settings.redis_port) == (60, False, 6390)
    assert (settings.max_wait_s, settings.web_worker_class, settings.log_level) == (2.5, "sync", "INFO")
    assert settings.model_fields_set == {"job_ttl_s", "warm_models", "redis_port", "max_wait_s", "web_worker_class"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"JOB_TTL_S": "a day"}, "JOB_TTL_S"),
        ({"WEB_WORKER_CLASS": "eventlet"}, "WEB_WORKER_CLASS"),
        ({"FAST_TIME_LIMIT_S": "7200"}, "VISIBILITY_TIMEOUT_S"),
        ({"REDIS_PORT": "none"}, "REDIS_PORT"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Settings.from_env(env)


def test_a_child_given_as_env_reads_exactly_the_same_settings() -> None:
    settings = Settings(
        redis_url="redis://example.invalid:1/2",
        warm_models=False,
        redis_port=7000,
        api_keys="client:acme:0123456789abcdef",
    )
    assert Settings.from_env(settings.as_env()) == settings


def test_secrets_stay_out_of_the_settings_repr() -> None:
    shown = repr(Settings(api_keys="client:acme:secret-of-acme-0001", callback_secret="hook-secret-0001"))
    assert "secret-of-acme" not in shown and "hook-secret" not in shown
