"""scoring_client as an installed package: `pip install ./scoring_client` into a fresh virtualenv, used from outside
the checkout against gunicorn and a real worker."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from jobqueue.settings import PROJECT_ROOT
from tests.support.processes import WebProcess, WorkerProcess

SERVICE_PACKAGES = {"flask", "redis", "celery", "kombu", "scikit-learn", "numpy", "pandas", "shap", "pydantic"}


def test_pip_installs_the_client_alone_and_it_works_outside_the_checkout(
    tmp_path: Path, web_server: WebProcess, worker_process: WorkerProcess
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(PROJECT_ROOT / "scoring_client")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    )
    installed = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert {"scoring-client", "requests"} <= installed and not installed & SERVICE_PACKAGES
    # From a folder outside the checkout, the installed copy is the one imported, and it talks to the service.
    script = textwrap.dedent(
        f"""
        import scoring_client
        from scoring_client import ApiError, ScoringClient

        assert {str(PROJECT_ROOT)!r} not in scoring_client.__file__, scoring_client.__file__
        client = ScoringClient({web_server.url!r})
        job = client.wait(client.submit({{"model": "interests", "input": {{"interests": ["jazz"], "city": "Paris"}}}})["id"])
        print(job["status"], job["result"]["room"])
        try:
            client.submit({{"model": "interests", "input": {{"interests": ["jazz"], "city": " "}}}})
        except ApiError as error:
            print(error)
        """
    )
    run = subprocess.run([str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    room, refusal = run.stdout.splitlines()
    assert room.startswith("succeeded paris-")
    assert refusal.endswith("(input.city: String should have at least 1 character)")
    # Building it left nothing in the checkout.
    assert sorted(p.name for p in (PROJECT_ROOT / "scoring_client").iterdir() if p.name != "__pycache__") == [
        "__init__.py",
        "client.py",
        "py.typed",
        "pyproject.toml",
        "signature.py",
    ]
