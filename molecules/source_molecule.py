"""Molecules over a `Source`: fetch, save and remove go to the source's get, save and delete."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from molecules.core.atom import Atom, Getter, Setter, derived
from molecules.molecule import Molecule
from runnable.sources import InMemorySource, Source, Versioned, VersionedSource

__all__ = ["SourceMolecule", "create_source_molecule", "describe_source", "source_options"]

T = TypeVar("T")


def describe_source(source: Source) -> str:
    """A short name for `source` in messages (never a connection secret)."""
    if isinstance(source, InMemorySource):
        return f"InMemorySource({source.name})"
    return repr(source)


def source_options(source: Source) -> dict[str, Any]:
    """The `create_molecule` options that wire a molecule to `source`."""
    if not isinstance(source, Source):
        raise TypeError(
            f"a source needs async get(id), save(id, data) and list(); got {type(source).__name__}"
        )
    delete = getattr(source, "delete", None)
    return {
        # A versioned fetch gives the molecule the version its saves are checked against.
        "fetch": source.get_versioned if isinstance(source, VersionedSource) else source.get,
        "save": source.save,
        "remove": delete if callable(delete) else None,
        "where": describe_source(source),
    }


class SourceMolecule(Molecule[T]):
    """A molecule whose entities live in `source`; adds the action `load_all`.

    `ids = await store.set(m.load_all)` lists the source and puts every entity into the
    store in one write (an entity the molecule refuses becomes an error query).
    """

    def __init__(self, name: str, source: Source, **options: Any) -> None:
        self.source = source
        super().__init__(name, **{**source_options(source), **options})
        self.load_all = self.action("load_all", self._write_load_all)
        self._receive_all: Atom[list[str]] = derived(
            write=self._write_receive_all, name=f"{name}._receive_all"
        )

    def _write_load_all(self, get: Getter, set: Setter) -> Coroutine[Any, Any, list[str]]:
        async def load_all() -> list[str]:
            source = self.source
            documents: Sequence[Any] = await (
                source.list_versioned() if isinstance(source, VersionedSource) else source.list()
            )
            ids: list[str] = set(self._receive_all, documents)
            return ids

        return load_all()

    def _write_receive_all(self, get: Getter, set: Setter, documents: Sequence[Any]) -> list[str]:
        ids = []
        for document in documents:
            data = document.data if isinstance(document, Versioned) else document
            key = data.get("id")
            if isinstance(key, str) and key:
                self.receive(get, set, key, document)
                ids.append(key)
        return ids


def create_source_molecule(name: str, source: Source, **options: Any) -> SourceMolecule[Any]:
    """A molecule named `name` over `source` (other `create_molecule` options as given)."""
    return SourceMolecule(name, source, **options)
