"""Instances left alone are removed: `ConversationEngine(..., instance_ttl=seconds)`.

An instance expires when it is not executing, nothing subscribes to it (to its state or
any selector of it, in any store), and it has not changed for `instance_ttl` seconds of
the engine's `monotonic` clock. Removing it is `remove_instance`: its run gets its final
status. Each store with instances gets one background task (its reaper) that looks every
quarter of the ttl (at most every minute) and stops when the store has no instance
left; `remove_expired_instances` looks at once.
"""

from __future__ import annotations

import asyncio

from molecules.core.atom import Atom, Getter, Setter, derived
from molecules.engine.editing import write_remove_instance
from molecules.engine.instances import Instances

__all__ = ["is_expired", "watch", "write_remove_expired"]

_LONGEST_WAIT = 60.0


def is_expired(instances: Instances, get: Getter, iid: str) -> bool:
    """True when instance `iid` is idle, unwatched, and unchanged for the ttl."""
    ttl = instances.instance_ttl
    if ttl is None or iid not in instances.state:
        return False
    slot = instances.state(iid)
    state = get(slot)
    if state is None or state.is_busy or slot.mounts > 0:
        return False
    return instances.clock() - get(instances.touched(iid)) >= ttl


def write_remove_expired(instances: Instances, get: Getter, set: Setter) -> tuple[str, ...]:
    """Remove every expired instance of this store now; returns their ids."""
    expired = tuple(i for i in get(instances.instance_ids) if is_expired(instances, get, i))
    for iid in expired:
        write_remove_instance(instances, get, set, iid)
    return expired


def watch(instances: Instances, get: Getter, set: Setter) -> None:
    """Make sure this store has a reaper (with a ttl, and from a running loop)."""
    ttl = instances.instance_ttl
    if ttl is None or set in instances.reapers:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop to run it: `remove_expired_instances` still works
    wait = min(max(ttl / 4, 0.01), _LONGEST_WAIT)
    sweep: Atom[None] = derived(write=lambda g, s: write_remove_expired(instances, g, s))

    async def reap() -> None:
        try:
            while get(instances.instance_ids):
                await asyncio.sleep(wait)
                set(sweep)
        finally:
            instances.reapers.pop(set, None)

    # Not one of the engine's tasks: `drain` must not wait for a loop that outlives turns.
    instances.reapers[set] = loop.create_task(reap(), name="remove expired instances")
