"""Where a signup's CPU goes in the service: py-spy samples of the web and the fast worker under load.

    .venv/bin/pip install py-spy==0.4.2      # a profiler, not a dependency of the service
    .venv/bin/python -m bench.profile [--concurrency 32] [--seconds 8]

Starts the service as ``bench.run`` does (gunicorn with 2 gthread workers, the
fast worker with its 2 pool processes, the archiver, a private Redis), drives
signups with ``?wait`` at the given concurrency, and meanwhile samples the web
and the fast worker with ``py-spy record --gil --subprocesses`` (only threads
holding the GIL: Python's own CPU). Each sample is put in the first category
whose marker its stack holds, and each category's share of its process kind is
printed: what ``docs/performance.md`` calls the profile.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import psutil

from bench.driver import drive
from bench.registry import fresh_registry, service_env
from bench.run import design
from models.interests.train import train
from tools.redis_server import RedisServer, free_port

# (category, markers): a sample goes to the first category any of whose markers its stack holds.
WEB = [
    # redis-py's pub/sub thread, parsing every job's completion message in every web process
    ("completion listener", ["get_message (redis/client.py", "_dispatch (web/waiting.py"]),
    ("create script round trip", ["jobqueue/store.py", "jobqueue/scripts/"]),
    ("validation (pydantic, the model's checks)", ["pydantic", "web/schemas.py", "models/validation.py"]),
    ("JSON body parsing", ["web/json_body.py"]),
    ("the model's manifest and its files' check", ["manifest (web/catalog.py"]),
    ("?wait: waiting for the completion", ["web/waiting.py"]),
    ("Flask request handling, the rest", ["flask/", "werkzeug/", "web/"]),
    ("gunicorn: HTTP parsing and responses", ["gunicorn/http/"]),
    ("gunicorn gthread loop (accept, poll, hand to threads)", ["gunicorn/"]),
]
WORKER_MAIN = [
    # Deepest first: delivery runs inside the BRPOP read's callback, and everything inside the event loop.
    ("hand-off to the pool and results back (asynpool)", ["concurrency/asynpool.py", "billiard/"]),
    ("acks, one transaction per micro-batch", ["ack (worker/kombu_transport.py", "ack (kombu/transport/redis.py"]),
    ("unacked bookkeeping (a copy of each message)", ["append (kombu/transport/redis.py"]),
    ("Celery: message to request, micro-batching", ["on_task_received (", "worker/microbatcher.py"]),
    ("BRPOP: reading and decoding messages", ["_brpop_read (", "on_readable (kombu/transport/redis.py"]),
    ("the event loop, the rest", ["kombu/", "celery/"]),
]
WORKER_POOL = [
    ("the model (NNLS weights, rooms)", ["models/interests/"]),
    ("start and finish scripts (pipelined)", ["jobqueue/store.py", "redis/"]),
    ("batch runner, the rest", ["worker/"]),
    ("billiard: receiving tasks, sending results", ["billiard/"]),
]


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=False)


def _record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy==0.4.2")
    argv = [spy, "record", "--pid", str(pid), "--gil", "--subprocesses", "--format", "raw"]
    argv += ["--rate", "200", "--duration", str(int(seconds)), "--output", str(out), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _samples(path: Path) -> dict[int, Counter[str]]:
    """Collapsed stacks per process id (py-spy names each process in the stack's first frame)."""
    by_pid: dict[int, Counter[str]] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        chain = re.findall(r"process (\d+):", stack)  # parent first: the sampled process is the last
        if chain and count.isdigit():
            by_pid.setdefault(int(chain[-1]), Counter())[stack] += int(count)
    return by_pid


def _shares(stacks: Counter[str], categories: list[tuple[str, list[str]]]) -> dict[str, float]:
    total = sum(stacks.values()) or 1
    counted: Counter[str] = Counter()
    for stack, count in stacks.items():
        name = next((name for name, markers in categories if any(m in stack for m in markers)), "other")
        counted[name] += count
    return {name: round(100 * n / total, 1) for name, n in counted.most_common()} | {"samples": total}


def profile(concurrency: int, seconds: float, raw_dir: Path | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(data_dir=Path(tmp) / "redis") as server:
        train(fresh_registry(Path(tmp) / "models"), n_users=3000)
        env = service_env(Path(tmp) / "models", server.url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with design("service", env, port) as fleet:
            drive(url, "wait", 300, concurrency)  # warm
            load = threading.Thread(target=drive, args=(url, "wait", int(600 * (seconds + 4)), concurrency))
            load.start()
            web_out, worker_out = Path(tmp) / "web.txt", Path(tmp) / "worker.txt"
            spies = [
                _record(fleet.procs["web"].pid, seconds, web_out),
                _record(fleet.procs["worker"].pid, seconds, worker_out),
            ]
            for spy in spies:
                spy.wait()
            load.join()
            if raw_dir is not None:  # the collapsed stacks, for a flame graph or a closer look
                raw_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(web_out, raw_dir / "web.txt")
                shutil.copy(worker_out, raw_dir / "worker.txt")
            web_workers = {p.pid for p in _children(fleet.procs["web"].pid)}
            worker_main = fleet.procs["worker"].pid
            pool = {p.pid for p in _children(worker_main)}
            web = _samples(web_out)
            worker = _samples(worker_out)
    merged = Counter[str]()
    for pid in web_workers:
        merged.update(web.get(pid, Counter()))
    pool_stacks = Counter[str]()
    for pid in pool:
        pool_stacks.update(worker.get(pid, Counter()))
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "web_workers": _shares(merged, WEB),
        "fast_worker_main": _shares(worker.get(worker_main, Counter()), WORKER_MAIN),
        "fast_worker_pool": _shares(pool_stacks, WORKER_POOL),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--raw-dir", type=Path, default=None, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    print(json.dumps(profile(args.concurrency, args.seconds, args.raw_dir), indent=2))


if __name__ == "__main__":
    main()
