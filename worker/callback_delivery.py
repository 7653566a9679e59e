"""Posting a finished job to its callback URL: signed, each attempt recorded on the job, retried with backoff.

Delivery is at least once: a receiver may see the same job twice (after a
worker crash, or a response lost on the way back) and should deduplicate on
the job id. Each delivery message names the attempt it makes; recording an
attempt is a compare-and-set on the job's attempt count, so a duplicate
message never starts a second chain of retries.
"""

from __future__ import annotations

import json
import logging
import random

import requests
from billiard.exceptions import SoftTimeLimitExceeded

from jobqueue import contract
from jobqueue.callback_targets import RefusedAddress, create_session
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from jobqueue.view import job_view
from scoring_client.signature import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)


def backoff_s(settings: Settings, failed_attempt: int) -> float:
    """Seconds before the next attempt: doubling from CALLBACK_BACKOFF_S, capped, jittered so that
    many callbacks failing together (a receiver's outage) do not all come back at once."""
    ceiling = min(settings.callback_backoff_max_s, settings.callback_backoff_s * 2 ** (failed_attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class CallbackSender:
    """Makes one delivery attempt at a time and says when to make the next."""

    def __init__(self, settings: Settings, jobs: JobStore) -> None:
        self.settings = settings
        self.jobs = jobs
        self.secrets = [s.strip() for s in settings.callback_secret.split(",") if s.strip()]
        self.session = create_session(settings)

    def deliver(self, job_id: str, attempt: int) -> float | None:
        """Make attempt ``attempt``; returns seconds until the next one, or None when there is none to make."""
        record = self.jobs.get(job_id)
        if (
            record is None
            or not record.get("callback_url")
            or record["status"] not in contract.TERMINAL
            or record.get("callback_delivered_at")
            or record.get("callback_attempts", 0) >= attempt
        ):
            return None  # expired, delivered, or this attempt was already made by a duplicate message
        body = json.dumps(job_view(record), separators=(",", ":")).encode()
        status, error = self._post(record["callback_url"], body, job_id, attempt)
        delivered = status is not None and 200 <= status < 300
        if not self.jobs.record_callback_attempt(job_id, attempt, status, error, delivered) or delivered:
            return None
        if attempt >= self.settings.callback_max_attempts:
            # The error stays on the job (its owner's URL): a transport error quotes the URL, whose path or
            # query may hold the receiver's token, so the log names only the job and the last status.
            log.warning("callback_gave_up", extra={"job_id": job_id, "attempts": attempt, "http_status": status})
            return None
        return backoff_s(self.settings, attempt)

    def _post(self, url: str, body: bytes, job_id: str, attempt: int) -> tuple[int | None, str | None]:
        """POST once; (HTTP status or None, error or None). Never reads more of the answer than its status."""
        if not self.secrets:
            return None, "the service has no CALLBACK_SECRET to sign with"
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secrets, body),
            "X-Scoring-Job-Id": job_id,
            "X-Scoring-Attempt": str(attempt),
        }
        try:
            with self.session.post(url, data=body, headers=headers, stream=True) as response:
                ok = 200 <= response.status_code < 300
                return response.status_code, None if ok else f"the receiver answered HTTP {response.status_code}"
        except RefusedAddress as exc:
            # Checked again on connecting (the address may have changed since submit); not logged.
            return None, f"refused on connecting: {exc}"
        except requests.Timeout:
            return None, f"no answer within {self.settings.callback_timeout_s:g} s"
        except SoftTimeLimitExceeded:
            # A receiver trickling its answer byte by byte beats every socket timeout; the task's
            # time limit stops it, and the attempt is still recorded, so the next one is a retry.
            return None, "the receiver took too long to answer"
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
