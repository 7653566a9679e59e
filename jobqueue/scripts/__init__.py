"""The Redis scripts behind every job transition, loaded once from the ``.lua`` files beside this module.

A script takes its keys and arguments by name: one JSON argument, decoded with
``cjson``, holds ``keys`` (name -> key, or a list of keys) and every other
argument. The keys are also declared in ``KEYS``, as Redis asks of scripts.
A script whose first line is ``--! uses metrics`` runs with the helpers of
``metrics.lua`` defined (``--! uses metrics archive``: of both): Redis 6.2,
the version the embedded server ships, has no function libraries, so each
fragment is placed before the scripts that use it when the file is read.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import NoScriptError

HERE = Path(__file__).resolve().parent
USES = "--! uses "

# name -> one key, a list of keys, or keys by name (e.g. a rate hash per queue)
Keys = Mapping[str, str | Sequence[str] | Mapping[str, str]]


@dataclass(frozen=True)
class LuaScript:
    """One script's text and sha1, with its calls encoded by name."""

    name: str
    source: str
    sha: str

    @staticmethod
    def encode(keys: Keys, args: Mapping[str, Any]) -> tuple[list[str], str]:
        """(KEYS, the JSON argument) for a call; arguments that are None are left out (cjson's null is truthy)."""
        declared: list[str] = []
        for value in keys.values():
            if isinstance(value, str):
                declared.append(value)
            elif isinstance(value, Mapping):
                declared.extend(value.values())
            else:
                declared.extend(value)
        named = {name: value for name, value in args.items() if value is not None}
        return declared, json.dumps({"keys": dict(keys), **named}, separators=(",", ":"))

    def __call__(self, client: redis.Redis, keys: Keys, **args: Any) -> Any:
        """Run the script once, by its sha; loads it if Redis does not have it (the first call, a restart)."""
        declared, argument = self.encode(keys, args)
        try:
            return client.evalsha(self.sha, len(declared), *declared, argument)
        except NoScriptError:
            client.script_load(self.source)
            return client.evalsha(self.sha, len(declared), *declared, argument)


@functools.cache
def load(name: str) -> LuaScript:
    """The script ``<name>.lua``, with the fragments it uses in front of it."""
    text = (HERE / f"{name}.lua").read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    if first.startswith(USES):
        fragments = [(HERE / f"{used}.lua").read_text(encoding="utf-8") for used in first[len(USES) :].split()]
        text = "\n".join([*fragments, text])
    # Redis files a script under the sha1 of its text.
    return LuaScript(name, text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


def run_pipelined(client: redis.Redis, script: LuaScript, calls: Sequence[tuple[Keys, Mapping[str, Any]]]) -> list[Any]:
    """Run ``script`` once per (keys, args) in one pipelined round trip; the replies in order.

    redis-py's own pipeline asks SCRIPT EXISTS before every execute that holds a
    script, a second round trip per batch. Here the script runs by its sha
    alone, and only if Redis has lost it (a restart) are the calls it refused
    run again once it is loaded: each call runs exactly once.
    """
    encoded = [script.encode(keys, args) for keys, args in calls]
    replies: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))
    for _ in range(2):
        pipe = client.pipeline(transaction=False)
        for index in pending:
            declared, argument = encoded[index]
            pipe.evalsha(script.sha, len(declared), *declared, argument)
        refused = []
        for index, reply in zip(pending, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(reply, NoScriptError):
                refused.append(index)
            elif isinstance(reply, Exception):
                raise reply
            else:
                replies[index] = reply
        if not refused:
            return replies
        client.script_load(script.source)  # its sha is its text's: the calls above stay valid
        pending = refused
    raise NoScriptError(f"script {script.name} vanished from Redis as soon as it was loaded")
