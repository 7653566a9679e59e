"""The README's "Try it" sections, run as written against gunicorn and real workers, so they cannot drift.

Every ``sh`` block of a section whose heading starts with "Try it" runs, in
order, in one bash (later blocks use the variables earlier ones set), with
the base URL swapped for the test service's. Each command must succeed, and
the HTTP statuses each block's ``curl`` calls get must be exactly the ones
its ``# -> NNN`` comments document. The ``python`` blocks run too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

from jobqueue.settings import PROJECT_ROOT
from tests.support.missing import program
from tests.support.processes import WebProcess, WorkerProcess

README = PROJECT_ROOT / "README.md"
BASE_URL = "http://127.0.0.1:8000"
HEADING_RE = re.compile(r"^(#{1,6}) (.*)$")
FENCE_RE = re.compile(r"^```(\w*)$")
DOCUMENTED_RE = re.compile(r"^\s*# -> (\d{3})\b", re.MULTILINE)
MARKER = "### block "
# Every curl reports its status on stderr, where the block's own output does not go.
CURL_SHIM = "curl() { command curl --write-out '%{stderr}HTTP %{http_code}\\n' \"$@\"; }\n"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a "Try it" section."""

    section: str
    language: str
    code: str

    @property
    def documented(self) -> set[str]:
        return set(DOCUMENTED_RE.findall(self.code))


def try_it_blocks(text: str) -> list[Block]:
    """The code blocks of every section whose heading starts with "Try it", down to the next heading of its level."""
    blocks: list[Block] = []
    section: tuple[int, str] | None = None
    fence: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        if fence is not None:
            if line == "```":
                if section is not None:
                    blocks.append(Block(section[1], fence[0], "\n".join(fence[1]) + "\n"))
                fence = None
            else:
                fence[1].append(line)
            continue
        if found := FENCE_RE.match(line):
            fence = (found.group(1), [])
        elif heading := HEADING_RE.match(line):
            level, title = len(heading.group(1)), heading.group(2)
            if title.startswith("Try it"):
                section = (level, title)
            elif section is not None and level <= section[0]:
                section = None
    return blocks


def test_the_readme_walks_through_signup_and_credit_scoring_on_its_own() -> None:
    text = README.read_text()
    blocks = [b for b in try_it_blocks(text) if b.language == "sh"]
    assert {b.section for b in blocks} == {"Try it: sign a user up", "Try it: credit scoring"}
    credit = "".join(b.code for b in blocks if b.section == "Try it: credit scoring")
    for step in ("/customers?", "id_prefix=", '"threshold"', '"task": "explain"', '"scope": "global"', "-X DELETE"):
        assert step in credit, step
    assert all(b.documented for b in blocks)
    # It stands alone: nothing points outside the repository.
    assert "../" not in text


def test_every_try_it_shell_block_runs_and_answers_as_documented(
    web_server: WebProcess, worker_process: WorkerProcess
) -> None:
    program("curl", package="curl")
    program("jq", package="jq")
    blocks = [b for b in try_it_blocks(README.read_text()) if b.language == "sh"]
    script = "set -euo pipefail\n" + CURL_SHIM
    script += "".join(f"echo '{MARKER}{i}' >&2\n{b.code}" for i, b in enumerate(blocks))
    run = subprocess.run(
        ["bash", "-c", script.replace(BASE_URL, web_server.url)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 0, f"{run.stderr[-3000:]}\n{run.stdout[-3000:]}"
    answered = [set(re.findall(r"^HTTP (\d{3})$", part, re.MULTILINE)) for part in run.stderr.split(MARKER)[1:]]
    assert len(answered) == len(blocks)
    for block, statuses in zip(blocks, answered, strict=True):
        assert statuses == block.documented, f"{block.section}:\n{block.code}\n{run.stdout[-3000:]}"


def test_every_try_it_python_block_runs(web_server: WebProcess, worker_process: WorkerProcess) -> None:
    blocks = [b for b in try_it_blocks(README.read_text()) if b.language == "python"]
    assert blocks
    for block in blocks:
        run = subprocess.run(
            [sys.executable, "-c", block.code.replace(BASE_URL, web_server.url)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=PROJECT_ROOT,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert "succeeded" in run.stdout
