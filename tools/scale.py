"""``python -m tools.scale``: the scaling signal of GET /scaling, read from Redis directly.

It reads REDIS_URL, else the Redis that a running ``make run`` recorded, else
the default, and says on stderr which one it read.

python -m tools.scale               a table, one row per queue
python -m tools.scale --json        the same document as GET /scaling
python -m tools.scale --queue fast  only the suggested worker count, for scripts:
                                     heroku ps:scale worker=$(python -m tools.scale --queue fast)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import redis

from jobqueue import contract
from jobqueue.connections import create_redis
from jobqueue.local_redis import command_settings
from jobqueue.scaling import scaling_signal

COLUMNS = [
    ("queue", "queue"),
    ("depth", "depth"),
    ("oldest_age_s", "oldest s"),
    ("workers", "workers"),
    ("arrivals_per_min", "in/min"),
    ("throughput_per_min", "done/min"),
    ("mean_job_s", "job s"),
    ("target_wait_s", "target s"),
    ("suggested_workers", "suggested"),
]


def render_table(signal: dict[str, Any]) -> str:
    """The signal as aligned text columns."""
    rows = [[title for _, title in COLUMNS]]
    rows += [["-" if q[name] is None else str(q[name]) for name, _ in COLUMNS] for q in signal["queues"].values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines) + f"\n(arrivals and throughput over the last {signal['window_s']} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scale", description=__doc__.splitlines()[0])
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print the GET /scaling document")
    shape.add_argument("--queue", choices=contract.QUEUES, help="print only this queue's suggested workers")
    args = parser.parse_args(argv)
    # Without REDIS_URL, the Redis of the `make run` serving from this checkout; stderr says which.
    settings = command_settings("scale")
    try:
        signal = scaling_signal(create_redis(settings), settings, time.time())
    except redis.RedisError as exc:
        print(f"scale: Redis unreachable: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(signal, indent=2))
    elif args.queue:
        print(signal["queues"][args.queue]["suggested_workers"])
    else:
        print(render_table(signal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
