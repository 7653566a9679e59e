"""The invariant every fault test checks: each job answered 202 ends, once, in a terminal state.

A Ledger remembers every id the service accepted and listens to the jobs'
done channels, on which the job store publishes each terminal record it
writes (a second write would mean a second publish). ``settle`` then waits,
within a bound, for every accepted job to be terminal, and names the ones lost.
Through Redis keyspace notifications it also counts each job's chunk records
(``contract.chunk_key``): a chunk is recorded once, however many times a lost
worker made it run, so a job split into chunks shows one record per chunk.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
from flask.testing import FlaskClient

from jobqueue import contract

TERMINAL = contract.TERMINAL
CHUNK_EVENTS = "__keyspace@0__:" + contract.fanout_key("")


@dataclass
class Outcome:
    """What happened to the accepted jobs: how many, and which ids broke the invariant and why."""

    accepted: int
    lost: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


class Ledger:
    """Accepted job ids, and the terminal records published for each."""

    def __init__(self, redis_url: str) -> None:
        self.accepted: list[str] = []
        self.published: Counter[str] = Counter()
        self.outcome: Outcome | None = None
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.chunk_records: Counter[str] = Counter()
        self._client.config_set("notify-keyspace-events", "K$")
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(contract.done_channel("*"), CHUNK_EVENTS + "*")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        done = contract.done_channel("")
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.1)
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(0.1)  # Redis restarting: the next read reconnects and subscribes again
                continue
            if message is None:
                continue
            channel = message["channel"].decode()
            if channel.startswith(done):
                self.published[channel[len(done) :]] += 1
            elif message["data"] == b"set":  # a chunk's outcome (the plan itself is a hash: hset)
                self.chunk_records[channel[len(CHUNK_EVENTS) :].split(":")[0]] += 1

    def submit(self, client: FlaskClient, body: dict[str, Any], **kwargs: Any) -> Any:
        """POST /jobs; an answer of 202 puts the job in the ledger."""
        response = client.post("/jobs", json=body, **kwargs)
        if response.status_code == 202:
            self.accepted.append(response.json["id"])
        return response

    def settle(self, client: FlaskClient, timeout_s: float, unobserved_ok: bool = False) -> Outcome:
        """Wait up to ``timeout_s`` for every accepted job to be terminal; report the ones that are not.

        ``unobserved_ok`` accepts a terminal record whose publish this listener
        missed (it was reconnecting after a Redis restart); never a second one.
        """
        deadline = time.monotonic() + timeout_s
        records: dict[str, dict[str, Any]] = {}
        pending = list(self.accepted)
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                response = client.get(f"/jobs/{job_id}")
                if response.status_code == 200 and response.json["status"] in TERMINAL:
                    records[job_id] = response.json
                    pending.remove(job_id)
            time.sleep(0.1)
        time.sleep(0.3)  # let the last publishes arrive
        outcome = Outcome(len(self.accepted), records=records)
        for job_id in self.accepted:
            count = self.published[job_id]
            if job_id in pending:
                status = client.get(f"/jobs/{job_id}")
                outcome.lost[job_id] = (
                    f"not terminal after {timeout_s:g}s: "
                    f"{status.json.get('status') if status.status_code == 200 else 404}"
                )
            elif count > 1:
                outcome.lost[job_id] = f"terminal record written {count} times"
            elif count == 0 and not unobserved_ok:
                outcome.lost[job_id] = "terminal, but its record was never published"
        self.outcome = outcome
        return outcome

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pubsub.close()
        self._client.close()
