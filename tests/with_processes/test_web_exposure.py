"""Where gunicorn listens: loopback by default, and never open (no API_KEYS) anywhere else unless ALLOW_OPEN=1."""

from __future__ import annotations

from pathlib import Path

import psutil

from jobqueue.settings import Settings
from tests.support.processes import WebProcess


def _listening(web: WebProcess) -> set[str]:
    """The addresses the gunicorn master listens on at its port."""
    return {
        c.laddr.ip
        for c in psutil.Process(web.proc.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == web.port
    }


def test_by_default_the_web_listens_on_loopback_only(settings: Settings, tmp_path: Path) -> None:
    web = WebProcess(settings, tmp_path / "web.log", workers=1, bind=False).wait_ready()
    try:
        assert _listening(web) == {"127.0.0.1"}
    finally:
        web.stop()


def test_open_on_every_interface_it_refuses_to_start_and_names_api_keys(settings: Settings, tmp_path: Path) -> None:
    web = WebProcess(settings.replace(web_host="0.0.0.0"), tmp_path / "web.log", workers=1, bind=False)
    assert web.proc.wait(timeout=30) == 1
    web.stop()
    log = (tmp_path / "web.log").read_text()
    assert "refusing to listen on 0.0.0.0" in log and "API_KEYS" in log and "ALLOW_OPEN=1" in log
    assert "Listening at" not in log


def test_allow_open_lets_it_start_open_anywhere(settings: Settings, tmp_path: Path) -> None:
    web = WebProcess(settings.replace(web_host="0.0.0.0", allow_open=True), tmp_path / "web.log", workers=1, bind=False)
    try:
        web.wait_ready()
        assert _listening(web) == {"0.0.0.0"}
    finally:
        web.stop()
