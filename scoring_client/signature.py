"""Callback signatures: the service signs each callback body, receivers verify it (stdlib only).

The header is ``X-Scoring-Signature: t=<unix seconds>,v1=<hex>`` where the hex
is HMAC-SHA256 over ``f"{t}." + body`` with a shared secret. While a secret is
being rotated the service signs with each configured secret, one ``v1`` per
secret; a receiver accepts the body if any of them matches one of its secrets.
The timestamp is signed too, so a captured callback cannot be replayed later
than ``tolerance_s``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Scoring-Signature"
DEFAULT_TOLERANCE_S = 300

Secret = str | bytes
Secrets = Secret | Iterable[Secret]


def _secrets(secrets: Secrets) -> list[bytes]:
    """One secret (str or bytes) or several, as bytes; empty ones are dropped."""
    # A str is iterable too: taken as a list, "secret" would be six one-letter secrets.
    many = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    return [secret.encode() if isinstance(secret, str) else bytes(secret) for secret in many if secret]


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: Secrets, body: bytes | str, timestamp: int | None = None) -> str:
    """The header value for ``body``, signed with the secret given, or with each of a list of them."""
    moment = int(time.time()) if timestamp is None else timestamp
    macs = [f"v1={_mac(secret, moment, _bytes(body))}" for secret in _secrets(secrets)]
    if not macs:
        raise ValueError("no secret to sign with")
    return ",".join([f"t={moment}", *macs])


def verify_signature(
    secrets: Secrets,
    body: bytes | str,
    header: str | None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs exactly ``body`` (the raw bytes received) with one of ``secrets``
    (a str or bytes secret, or a list of them), at a time within ``tolerance_s`` of now."""
    if not header:
        return False
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = [_mac(secret, timestamp, _bytes(body)) for secret in _secrets(secrets)]
    # Compare every pair, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    return any(matches)
