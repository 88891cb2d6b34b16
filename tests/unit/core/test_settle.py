"""The call rules of `proximity`'s docstring, on hand-made graphs."""

from __future__ import annotations

from metaverse.core.calls import CallBook
from metaverse.core.events import CallFull, Event
from metaverse.core.ids import CallId, UserId

from .graph import Graph, calls, settle


def _types(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_linked_users_in_no_call_start_one() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b", "c")
    settle(book, graph, "a", "b", "c")
    assert calls(book) == {"call-1": {"a", "b", "c"}}


def test_a_user_beyond_the_cap_stays_out_and_is_told_once() -> None:
    graph, book = Graph(), CallBook(3)
    graph.chain("a", "b", "c")
    settle(book, graph, "a", "b", "c")
    graph.chain("c", "d")
    events = settle(book, graph, "d")
    assert calls(book) == {"call-1": {"a", "b", "c"}}
    assert events == [CallFull((UserId("d"),), CallId("call-1"))]
    assert book.waiting_for(UserId("d")) == "call-1"
    assert settle(book, graph, "d") == []


def test_two_left_out_users_start_their_own_call() -> None:
    graph, book = Graph(), CallBook(2)
    graph.chain("a", "b", "c", "d")
    settle(book, graph, "a", "b")
    settle(book, graph, "c", "d")
    assert calls(book) == {"call-1": {"a", "b"}, "call-2": {"c", "d"}}


def test_a_waiting_user_joins_when_a_place_frees_up() -> None:
    graph, book = Graph(), CallBook(3)
    graph.chain("a", "b", "c", "d")
    graph.chain("b", "d")
    settle(book, graph, "a", "b", "c", "d")
    assert calls(book) == {"call-1": {"a", "b", "c"}}
    assert book.waiting_for(UserId("d")) == "call-1"
    graph.eligible.discard(UserId("a"))
    settle(book, graph, "a", "b")
    assert calls(book) == {"call-1": {"b", "c", "d"}}
    assert book.waiting_for(UserId("d")) is None


def test_merging_calls_keep_the_larger_ones_id() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b")
    settle(book, graph, "a", "b")
    graph.chain("c", "d", "e")
    settle(book, graph, "c", "d", "e")
    graph.chain("b", "c")
    settle(book, graph, "b", "c")
    assert calls(book) == {"call-2": {"a", "b", "c", "d", "e"}}


def test_merging_equal_calls_keep_the_smaller_id() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("c", "d")
    settle(book, graph, "c", "d")
    graph.chain("a", "b")
    settle(book, graph, "a", "b")
    graph.chain("b", "c")
    settle(book, graph, "b")
    assert calls(book) == {"call-1": {"a", "b", "c", "d"}}


def test_calls_that_would_not_fit_together_stay_apart() -> None:
    graph, book = Graph(), CallBook(5)
    graph.chain("a", "b", "c")
    graph.chain("d", "e", "f")
    settle(book, graph, "a", "b", "c")
    settle(book, graph, "d", "e", "f")
    graph.chain("c", "d")
    assert settle(book, graph, "c") == []
    assert calls(book) == {"call-1": {"a", "b", "c"}, "call-2": {"d", "e", "f"}}


def test_an_outsider_joins_the_largest_call_with_room_then_calls_merge_if_they_fit() -> None:
    for cap, expected in [
        (6, {"call-2": {"a", "b", "c", "d", "e", "u"}}),
        (5, {"call-1": {"a", "b"}, "call-2": {"c", "d", "e", "u"}}),
    ]:
        graph, book = Graph(), CallBook(cap)
        graph.chain("a", "b")
        graph.chain("c", "d", "e")
        settle(book, graph, "a", "b", "c", "d", "e")
        graph.chain("b", "u", "c")
        settle(book, graph, "u")
        assert calls(book) == expected


def test_a_split_leaves_the_id_with_the_largest_part() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b", "c", "d", "e")
    settle(book, graph, "a")
    graph.cut("c", "d")
    settle(book, graph, "c", "d")
    assert calls(book) == {"call-1": {"a", "b", "c"}, "call-2": {"d", "e"}}


def test_a_split_into_equal_parts_leaves_the_id_with_the_smallest_user() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("c", "d", "a", "b")
    settle(book, graph, "a")
    graph.cut("d", "a")
    settle(book, graph, "a", "d")
    assert calls(book) == {"call-1": {"a", "b"}, "call-2": {"c", "d"}}


def test_a_part_split_off_loses_a_tie_against_an_existing_call() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("x", "y")
    graph.chain("a", "b", "c", "d", "e")
    settle(book, graph, "x", "a")
    assert calls(book) == {"call-1": {"a", "b", "c", "d", "e"}, "call-2": {"x", "y"}}
    # Cutting c-d and linking d to x in one go: {d, e} splits off and meets call-2.
    graph.cut("c", "d")
    graph.chain("d", "x")
    settle(book, graph, "c", "d")
    assert calls(book) == {"call-1": {"a", "b", "c"}, "call-2": {"d", "e", "x", "y"}}


def test_a_call_split_into_ones_ends_and_a_call_of_one_ends() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b", "c")
    settle(book, graph, "a")
    graph.cut("a", "b")
    graph.cut("b", "c")
    settle(book, graph, "b")
    assert calls(book) == {}
    graph.chain("a", "b")
    settle(book, graph, "a")
    graph.eligible.discard(UserId("b"))
    settle(book, graph, "b")
    assert calls(book) == {}


def test_an_outsider_takes_in_loose_neighbours_by_id() -> None:
    graph, book = Graph(), CallBook(3)
    graph.chain("m", "z")
    graph.chain("m", "b")
    graph.chain("m", "a")
    graph.chain("m", "c")
    settle(book, graph, "m")
    # m is visited first (others aren't touched): starts a call with a, then takes b in.
    assert calls(book) == {"call-1": {"a", "b", "m"}}
    assert book.waiting_for(UserId("z")) == "call-1"
    assert book.waiting_for(UserId("c")) == "call-1"


def test_a_part_that_splits_off_and_is_bridged_back_never_left() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b", "c", "d")
    settle(book, graph, "a")
    # In one command b-c breaks while w arrives linked to both halves.
    graph.cut("b", "c")
    graph.chain("a", "w", "d")
    events = settle(book, graph, "b", "c", "w")
    assert calls(book) == {"call-1": {"a", "b", "c", "d", "w"}}
    assert _types(events) == ["CallJoined", "CallPeerJoined"]
