"""The drift figures /metrics exports: each model's active version against its recent jobs, kept in Redis.

Computing drift reads up to DRIFT_MAX_JOBS archived jobs per model, too much
for every scrape of every web process: the archiver computes it every
DRIFT_REFRESH_S and stores one small JSON per model in ``scoring:drift``,
which /metrics renders.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from jobqueue import contract
from jobqueue.archive import Archive
from jobqueue.logs import exception_fields
from jobqueue.settings import Settings
from models.drift import window_report
from models.manifest import ArtifactRefused
from models.store import ModelStore

log = logging.getLogger(__name__)


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """What /metrics shows of a drift report: PSI per feature and of the prediction, records, flags."""
    prediction = report["prediction"]
    return {
        "version": report["version"],
        "records": report["window"]["records"],
        "features": {feature["name"]: feature["psi"] for feature in report["features"]},
        "flagged": report["flagged"],
        "prediction": prediction["psi"] if prediction else None,
    }


def refresh_drift_figures(settings: Settings, client: redis.Redis, archive: Archive, store: ModelStore) -> int:
    """Recompute every model's figures and store them; how many models have figures now."""
    computed: dict[FieldT, EncodableT] = {}
    for name in store.names():
        try:
            manifest = store.manifest(name)
            report = window_report(archive, manifest, settings.drift_window_days, settings.drift_max_jobs)
        except (LookupError, ArtifactRefused):
            continue  # no training reference (an older version), or its files cannot come to this host
        except Exception as exc:  # noqa: BLE001 - one model's failure spares the others and the archiving
            log.error("drift_figures_failed", extra={"model": name, **exception_fields(exc)})
            continue
        computed[name] = json.dumps(figures(report), separators=(",", ":"))
    pipe = client.pipeline(transaction=True)
    pipe.delete(contract.DRIFT_FIGURES)
    if computed:
        pipe.hset(contract.DRIFT_FIGURES, mapping=computed)
    pipe.execute()
    return len(computed)
