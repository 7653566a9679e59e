"""Open mode (no API_KEYS) only on loopback: which addresses the web may listen on."""

from __future__ import annotations

import pytest

from jobqueue.settings import Settings
from web.exposure import open_exposure

OPEN = Settings()
KEYED = Settings(api_keys="client:acme:acme-client-key-0001")
ALLOWED = Settings(allow_open=True)


@pytest.mark.parametrize(
    "bind", ["127.0.0.1:8000", "127.0.0.53:8000", "localhost:8000", "[::1]:8000", "unix:/tmp/web.sock"]
)
def test_open_mode_may_listen_on_loopback(bind: str) -> None:
    assert open_exposure(OPEN, [bind]) is None


@pytest.mark.parametrize("bind", ["0.0.0.0:8000", "[::]:8000", "192.0.2.10:8000", ":8000", "name.invalid:8000"])
def test_open_mode_refuses_any_other_address_and_says_what_to_set(bind: str) -> None:
    problem = open_exposure(OPEN, ["127.0.0.1:8000", bind])
    assert problem is not None and "API_KEYS" in problem and "ALLOW_OPEN=1" in problem and bind in problem
    assert "127.0.0.1:8000" not in problem


def test_keys_or_allow_open_lift_the_refusal() -> None:
    assert open_exposure(KEYED, ["0.0.0.0:8000"]) is None
    assert open_exposure(ALLOWED, ["0.0.0.0:8000"]) is None


def test_everything_listens_on_loopback_by_default() -> None:
    assert OPEN.web_host == "127.0.0.1" and OPEN.flower_address == "127.0.0.1" and not OPEN.allow_open
