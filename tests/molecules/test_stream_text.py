"""StreamText: O(1) appends over a shared list, and views that never change."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from molecules.engine import StreamText


def test_appends_join_lazily_into_the_whole_text() -> None:
    text = StreamText().append("Hel").append("lo").append("")
    assert (text.text, text.chunks, len(text)) == ("Hello", 2, 5)


def test_appending_to_the_newest_view_shares_the_pieces() -> None:
    first = StreamText().append("a")
    second = first.append("b")
    assert second._parts is first._parts  # no copy on the hot path


def test_an_older_view_keeps_its_text_when_it_is_extended_differently() -> None:
    base = StreamText().append("a")
    left = base.append("b")
    right = base.append("c")
    assert (base.text, left.text, right.text) == ("a", "ab", "ac")


def test_views_compare_by_text_and_with_strings() -> None:
    assert StreamText().append("ab") == StreamText().append("a").append("b")
    assert StreamText.of("xy") == "xy"
    assert StreamText() == StreamText.of("")
    assert not StreamText()


@given(st.lists(st.text(max_size=5), max_size=30), st.integers(min_value=0, max_value=30))
def test_every_view_shows_exactly_the_pieces_appended_before_it(
    pieces: list[str], fork_at: int
) -> None:
    views = [StreamText()]
    for piece in pieces:
        views.append(views[-1].append(piece))
    fork_at = min(fork_at, len(pieces))
    views[fork_at].append("FORK")
    for index, view in enumerate(views):
        assert view.text == "".join(pieces[:index])
