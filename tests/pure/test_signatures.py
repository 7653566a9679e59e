"""scoring_client without a service: callback signatures, and what its errors say."""

from __future__ import annotations

import pytest

from scoring_client import ApiError, sign, verify_signature
from scoring_client.signature import Secrets


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


@pytest.mark.parametrize("secret", ["s3cret", b"s3cret", ["s3cret"], [b"s3cret"], ("", "s3cret")])
def test_a_secret_as_str_or_bytes_alone_or_listed_signs_once_and_verifies(secret: Secrets) -> None:
    body = b'{"id": "6f1c"}'
    header = sign(secret, body, timestamp=1_700_000_000)
    # One v1 for one secret: a str is one secret, never one per character.
    assert header == sign(["s3cret"], body, timestamp=1_700_000_000) and header.count("v1=") == 1
    for form in ("s3cret", b"s3cret", ["s3cret"], [b"other", b"s3cret"]):
        assert verify_signature(form, body, header, now=1_700_000_000)
    assert verify_signature("s3cret", body.decode(), header, now=1_700_000_000)  # the same body as text
    assert not verify_signature(b"other", body, header, now=1_700_000_000)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="no secret"):
        sign(["", ""], b"{}")


def test_an_api_error_says_which_fields_were_refused() -> None:
    details = [{"field": f"inputs.{i}.city", "message": "String should have at least 1 character"} for i in range(5)]
    error = ApiError(
        422, {"error": {"type": "validation_error", "message": "the input does not fit", "details": details}}
    )
    assert str(error) == (
        "HTTP 422 validation_error: the input does not fit (inputs.0.city: String should have at least 1 character; "
        "inputs.1.city: String should have at least 1 character; inputs.2.city: String should have at least 1 "
        "character; and 2 more)"
    )
    assert error.details == details
    assert str(ApiError(503, {"error": {"type": "broker_unavailable", "message": "retry later"}})) == (
        "HTTP 503 broker_unavailable: retry later"
    )
