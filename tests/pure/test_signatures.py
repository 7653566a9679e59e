"""Callback signatures: what scoring_client signs and verifies."""

from __future__ import annotations

from scoring_client import sign, verify_signature


def test_signatures_verify_only_the_signed_body_secret_and_time() -> None:
    body = b'{"id": "6f1c", "status": "succeeded"}'
    header = sign(["s3cret"], body, timestamp=1_700_000_000)
    assert verify_signature("s3cret", body, header, now=1_700_000_100)
    assert not verify_signature("s3cret", body.replace(b"succeeded", b"failed"), header, now=1_700_000_100)
    assert not verify_signature("other", body, header, now=1_700_000_100)
    assert not verify_signature("s3cret", body, header, now=1_700_000_000 + 301)  # a replay, too late
    for broken in ("", "t=1700000000", "v1=" + "0" * 64, "t=x,v1=y"):
        assert not verify_signature("s3cret", body, broken, now=1_700_000_000)
    # While the secret rotates, every secret signs and either one verifies.
    rotating = sign(["old-secret", "new-secret"], body, timestamp=1_700_000_000)
    assert verify_signature(["new-secret"], body, rotating, now=1_700_000_000)
    assert verify_signature("old-secret", body, rotating, now=1_700_000_000)
