"""A Python client for the scoring service, and the callback signature check its receivers need."""

from scoring_client.client import ApiError, JobTimeout, ScoringClient
from scoring_client.signature import SIGNATURE_HEADER, sign, verify_signature

__all__ = ["SIGNATURE_HEADER", "ApiError", "JobTimeout", "ScoringClient", "sign", "verify_signature"]
