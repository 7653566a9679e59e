"""Test-only Celery hooks that widen the window in which a worker starts, loaded with ``celery worker -I``.

``SLOW_START_READY_DELAY_S`` holds the main process in ``worker_ready``, sent
just before Celery checks that no pool process has exited yet;
``SLOW_START_WARM_UP_S`` keeps each pool process in ``worker_process_init``,
where it warms its models, that much longer. A test can then kill a pool
process while it warms and before that check, every time.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery.signals import worker_process_init, worker_ready


@worker_ready.connect
def hold_the_start(**_: Any) -> None:
    time.sleep(float(os.environ.get("SLOW_START_READY_DELAY_S", "0")))


@worker_process_init.connect
def warm_up_slowly(**_: Any) -> None:
    time.sleep(float(os.environ.get("SLOW_START_WARM_UP_S", "0")))
