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


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: Iterable[str], body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``, signed with every secret given."""
    moment = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={moment}", *(f"v1={_mac(secret, moment, body)}" for secret in secrets)])


def verify_signature(
    secrets: str | Iterable[str],
    body: bytes,
    header: str | None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs exactly ``body`` (the raw bytes received) with one of ``secrets``,
    at a time within ``tolerance_s`` of now."""
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
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    expected = [_mac(secret, timestamp, body) for secret in candidates if secret]
    # Compare every pair, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    return any(matches)
