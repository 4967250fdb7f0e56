"""`atom_from_observable`: an atom that follows a reactivex Observable while mounted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable

from molecules.core.atom import Atom, Getter, atom, derived

T = TypeVar("T")


def atom_from_observable(observable: Observable[T], initial: T | None = None) -> Atom[T | None]:
    """An atom of the observable's latest value (`initial` before the first one).

    The observable is subscribed once per store, while the atom is mounted, however many
    subscribers the atom has. An error makes reading the atom raise it; completion keeps
    the last value.
    """

    def on_mount(set_self: Callable[..., Any]) -> Callable[[], None]:
        subscription = observable.subscribe(
            on_next=lambda value: set_self(("value", value)),
            on_error=lambda error: set_self(("error", error)),
        )
        return subscription.dispose

    box: Atom[tuple[str, Any]] = atom(("value", initial), on_mount=on_mount)

    def read(get: Getter) -> T | None:
        kind, payload = get(box)
        if kind == "error":
            raise payload
        return payload  # type: ignore[no-any-return]

    return derived(read, name="from_observable")
