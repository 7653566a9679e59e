"""Every benchmark script still imports: nothing runs them in the suite, so a moved name would break them silently."""

from __future__ import annotations

import os
import subprocess
import sys

from jobqueue.settings import PROJECT_ROOT


def test_every_bench_module_imports() -> None:
    modules = sorted(f"bench.{path.stem}" for path in (PROJECT_ROOT / "bench").glob("*.py"))
    assert "bench.run" in modules and "bench.redis_timeouts" in modules
    # naive_app reads its broker at import; nothing connects to it.
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"}
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *modules], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
