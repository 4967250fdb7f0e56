"""A second process for the multi-process tests: a store over a SqlSource, driven by stdin.

    python -m tests.molecules.store_peer URL SCHEMA ENTITY_ID MODE [ARGS]

Modes:
- `watch`: load the entity, make a draft, follow the change feed; print a JSON line each
  time a watcher of `data`, `is_dirty` or `server_version` hears something.
- `race FIELD`: load, print "loaded", wait for "go", edit and save once; print "saved"
  or "conflict".
- `edits PREFIX N`: load, print "loaded", wait for "go", then N edits of fresh keys, each
  saved, a conflict answered by refresh-and-save-again; print the conflicts met.

Every line it prints is JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

from molecules import ConflictError, Store, create_source_molecule, follow_changes
from runnable.sources import SqlSource


def say(**fields: Any) -> None:
    """Print one JSON line and flush it (the test reads it through a pipe)."""
    print(json.dumps(fields), flush=True)


async def read_line() -> str:
    """The next line of stdin, without blocking the loop."""
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


async def watch(store: Store, molecule: Any, key: str) -> None:
    """Follow the feed and report each change the watcher of `data` hears."""
    await store.set(molecule.load, key)
    store.set(molecule.update, key, {"draft_note": "kept"})

    def heard() -> None:
        say(
            at=time.time(),
            data=store.get(molecule.data(key)),
            dirty=store.get(molecule.is_dirty(key)),
            version=store.get(molecule.server_version(key)),
        )

    watched = (molecule.data(key), molecule.is_dirty(key), molecule.server_version(key))
    stops = [store.sub(selector, heard) for selector in watched]
    async with follow_changes(store, molecule):
        say(ready=True)
        await read_line()  # until the test closes stdin
    for stop in stops:
        stop()


async def race(store: Store, molecule: Any, key: str, field: str) -> None:
    """Load, wait for "go", save one edit: exactly one of two racing peers may win."""
    await store.set(molecule.load, key)
    store.set(molecule.update, key, {field: True})
    say(loaded=True)
    await read_line()
    try:
        await store.set(molecule.save, key)
    except ConflictError as exc:
        say(outcome="conflict", current=exc.current_version)
    else:
        say(outcome="saved")


async def edits(store: Store, molecule: Any, key: str, prefix: str, count: int) -> None:
    """`count` edits of keys of our own, each saved; conflicts refreshed and saved again."""
    await store.set(molecule.load, key)
    say(loaded=True)
    await read_line()  # both peers start editing together
    conflicts = 0
    for i in range(count):
        store.set(molecule.update, key, {f"{prefix}{i}": i})
        while True:
            await asyncio.sleep(random.uniform(0, 0.003))
            try:
                await store.set(molecule.save, key)
                break
            except ConflictError:
                conflicts += 1
                await store.set(molecule.refresh, key)  # the draft stays on the new data
    say(conflicts=conflicts)


async def main(argv: list[str]) -> None:
    """Run one MODE (see the module docstring)."""
    url, schema, key, mode, *args = argv
    source = SqlSource(url, "prompts", schema=schema or None)
    molecule = create_source_molecule("prompt", source)
    store = Store()
    try:
        if mode == "watch":
            await watch(store, molecule, key)
        elif mode == "race":
            await race(store, molecule, key, args[0])
        elif mode == "edits":
            await edits(store, molecule, key, args[0], int(args[1]))
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    finally:
        await source.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
