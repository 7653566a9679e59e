"""API keys from the environment: parsing ``API_KEYS`` and finding the key a request presents.

Keys come as comma-separated ``role:tenant:secret`` entries. A tenant may have
several keys at once (rotation: add the new key, move the clients, remove the
old one); jobs belong to the tenant, not to the key, so they survive a
rotation. Only digests of the secrets are kept in memory, and only the tenant
name is ever stored on a job.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

CLIENT, ADMIN = "client", "admin"
ROLES = (CLIENT, ADMIN)
TENANT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_SECRET_LENGTH = 16
# A secret with no role and tenant is an admin key of this tenant; it must be long, so that a
# role:tenant:secret entry missing its colons by mistake is refused rather than made an admin.
MIN_BARE_SECRET_LENGTH = 32
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class ApiKey:
    role: str
    tenant: str
    digest: bytes  # sha256 of the secret: fixed length, so comparing leaks nothing about it


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_api_keys(raw: str) -> tuple[ApiKey, ...]:
    """``role:tenant:secret,...`` -> keys; ValueError (naming the entry, never the secret) if malformed.

    An entry that is a long secret alone (what Heroku's app.json generator
    makes) is an admin key of the tenant ``default``.
    """
    keys = []
    for number, entry in enumerate((e.strip() for e in raw.split(",") if e.strip()), start=1):
        if ":" not in entry and len(entry) >= MIN_BARE_SECRET_LENGTH:
            keys.append(ApiKey(ADMIN, DEFAULT_TENANT, _digest(entry)))
            continue
        role, _, rest = entry.partition(":")
        tenant, _, secret = rest.partition(":")
        if role not in ROLES or not TENANT_RE.match(tenant) or len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"API_KEYS entry {number} must be role:tenant:secret with role client or admin, "
                f"a tenant of [A-Za-z0-9_.-] and a secret of at least {MIN_SECRET_LENGTH} characters, "
                f"or an admin secret alone of at least {MIN_BARE_SECRET_LENGTH} characters"
            )
        keys.append(ApiKey(role, tenant, _digest(secret)))
    return tuple(keys)


def identify(keys: tuple[ApiKey, ...], presented: str) -> ApiKey | None:
    """The key matching ``presented``; every key is compared, in constant time."""
    digest, found = _digest(presented), None
    for key in keys:
        if hmac.compare_digest(digest, key.digest):
            found = key
    return found
