"""StreamText: streamed text, appended in O(1) and joined only when read.

The one text-log type of the reactive layer: a conversation turn's reply and a run
node's stream both hold one (`TextLog` is its older name in `molecules.run`).
"""

from __future__ import annotations

from typing import Any


class StreamText:
    """An immutable view of the first `chunks` pieces of a shared, append-only list.

    Appending to the newest view extends the shared list in place and returns a new view,
    so a stream of n chunks costs O(n), not O(n²) as repeated string concatenation would;
    appending to an older view copies its pieces first, so every view keeps its value. The
    joined `text` is computed on first read and cached.
    """

    __slots__ = ("_count", "_length", "_parts", "_text")

    def __init__(self, parts: list[str] | None = None, count: int = 0, length: int = 0) -> None:
        self._parts: list[str] = [] if parts is None else parts
        self._count = count
        self._length = length
        self._text: str | None = None if count else ""

    @classmethod
    def of(cls, text: str) -> StreamText:
        """A view holding `text` as one piece (empty text: no pieces)."""
        return cls([text], 1, len(text)) if text else cls()

    def append(self, piece: str) -> StreamText:
        """This text followed by `piece`."""
        if not piece:
            return self
        parts = self._parts
        if len(parts) != self._count:
            parts = parts[: self._count]  # an older view: fork, never change what others see
        parts.append(piece)
        return StreamText(parts, self._count + 1, self._length + len(piece))

    @property
    def text(self) -> str:
        """The whole text so far."""
        if self._text is None:
            self._text = "".join(self._parts[: self._count])
        return self._text

    @property
    def chunks(self) -> int:
        """How many pieces were appended."""
        return self._count

    @property
    def count(self) -> int:
        """How many pieces were appended (as `chunks`)."""
        return self._count

    @property
    def last(self) -> str | None:
        """The newest piece, or None when there is none."""
        return self._parts[self._count - 1] if self._count else None

    def since(self, index: int) -> str:
        """The text of the pieces from number `index` on (a client's missing delta)."""
        return "".join(self._parts[index : self._count])

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"StreamText({self._count} chunks, {self._length} chars)"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, StreamText):
            if self._length != other._length:
                return False
            if self._parts is other._parts and self._count == other._count:
                return True
            return self.text == other.text
        if isinstance(other, str):
            return self.text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)
