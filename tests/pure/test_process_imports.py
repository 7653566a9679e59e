"""What each process imports: the web no model library and no worker code, the worker's main process no model library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from jobqueue.settings import PROJECT_ROOT, Settings
from tests.support.data import registry_settings


def _printed_by(probe: str) -> str:
    """Run ``probe`` in a fresh interpreter (nothing imported yet) and return what it printed."""
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:9/0"},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_web_app_imports_neither_scikit_learn_nor_shap_nor_any_worker_module() -> None:
    probe = (
        "import sys; from web.app import create_app; create_app(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sklearn', 'shap', 'joblib', 'worker'}))"
    )
    assert _printed_by(probe) == "[]"


def test_worker_main_process_leaves_model_libraries_to_its_pool_processes() -> None:
    # The main process only consumes and dispatches; scikit-learn there is ~100 MB more per worker.
    probe = (
        "import sys; import worker.tasks, worker.signals; from worker import handlers, celery_app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'shap'}))"
    )
    assert _printed_by(probe) == "[]"


def test_fast_worker_scores_credit_without_importing_shap(model_dir: Path) -> None:
    settings = registry_settings(Settings(), model_dir)
    probe = (
        "import sys; import worker.tasks, worker.signals; from worker import handlers; "
        "from jobqueue.settings import Settings; "
        "from models.loader import ModelLoader; from models.store import ModelStore; "
        f"model = ModelLoader(ModelStore.for_settings(Settings.model_validate_json({settings.model_dump_json()!r})))"
        ".get('credit'); "
        "handlers.credit_predict.predict(model, [{'customer_id': 100002}], {}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'shap', 'numba'}))"
    )
    assert _printed_by(probe) == "[]"
