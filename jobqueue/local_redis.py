"""Where `make run`'s Redis is: written by tools.run_local, read by the project's commands when REDIS_URL is unset."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from jobqueue.settings import Settings


def record_path(settings: Settings) -> Path:
    """The record's place: VAR_DIR/run/redis.json."""
    return settings.var_dir / "run" / "redis.json"


def redacted(url: str) -> str:
    """The URL with any password replaced by ***, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def record(path: Path, url: str) -> None:
    """Note that this process serves ``url``; only the owner may read it, as the URL may carry a password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    # Created 0600 from the start: no moment in which the password is readable by others.
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        json.dump({"url": url, "pid": os.getpid()}, handle)
    partial.replace(path)


def forget(path: Path) -> None:
    """Remove the record if this process wrote it (a second `make run` may have replaced it since)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass  # gone already, or not ours to judge


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def recorded(path: Path) -> tuple[str | None, str]:
    """The URL a running `make run` recorded, or None; and a few words saying why."""
    try:
        found = json.loads(path.read_text())
        url, pid = str(found["url"]), int(found["pid"])
    except FileNotFoundError:
        return None, "no make run is serving from this checkout"
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"{path} is unreadable"
    if not _alive(pid):
        return None, f"the make run that wrote {path} (pid {pid}) has stopped"
    return url, f"make run's, from {path}"


def command_settings(command: str) -> Settings:
    """The settings a command line tool runs with; without REDIS_URL, the Redis a running `make run` recorded.

    It says on stderr which Redis it uses and why, so a command never
    reports on some other Redis without a word.
    """
    settings = Settings.from_env()
    if "redis_url" in settings.model_fields_set:
        source = "from REDIS_URL"
    else:
        url, source = recorded(record_path(settings))
        if url is not None:
            settings = settings.replace(redis_url=url)
        else:
            source = f"the default: REDIS_URL is unset and {source}"
    print(f"{command}: Redis {redacted(settings.redis_url)} ({source})", file=sys.stderr, flush=True)
    return settings
