"""What the tests need from the machine: missing fails the run in CI (where .ci/run installs it) and skips elsewhere."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Stop this test for ``reason``: a failure under CI, which must run everything, a skip on a laptop."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test; .ci/run installs what it needs)")
    pytest.skip(reason)


def program(*names: str, package: str) -> str:
    """The path of the first of ``names`` on PATH, else ``unavailable`` naming the Debian ``package``."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    unavailable(f"no {names[0]} on PATH: apt-get install -y --no-install-recommends {package}")
