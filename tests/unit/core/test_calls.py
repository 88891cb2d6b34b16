"""Call events: who hears what when calls start, grow, merge, split and end."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings

from metaverse.core.calls import CallBook, default_call_ids
from metaverse.core.config import SpaceConfig
from metaverse.core.events import (
    CallEnded,
    CallFull,
    CallJoined,
    CallLeft,
    CallPeer,
    CallPeerJoined,
    CallPeerLeft,
    CallStarted,
)
from metaverse.core.ids import CallId, UserId
from metaverse.core.settle import Links
from metaverse.core.space import Space

from .graph import Graph, calls, settle
from .model import PLAYGROUND, SCRIPTED, Command, configs, run, scripts

a, b, c, d, e = (UserId(name) for name in "abcde")
one, two = CallId("call-1"), CallId("call-2")


def test_default_ids_count_from_one() -> None:
    assert [default_call_ids(n) for n in (1, 2, 10)] == ["call-1", "call-2", "call-10"]


def test_a_new_call_tells_each_member_and_the_smaller_id_initiates() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("b", "a")
    assert settle(book, graph, "b") == [
        CallStarted(one),
        CallJoined((a,), one, (CallPeer(b, initiator=True),)),
        CallJoined((b,), one, (CallPeer(a, initiator=False),)),
    ]
    assert book.started == 1 and book.members(one) == (a, b)


def test_a_newcomer_initiates_towards_earlier_members() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("b", "c")
    settle(book, graph, "b")
    graph.chain("c", "a")
    assert settle(book, graph, "a") == [
        CallJoined((a,), one, (CallPeer(b, initiator=True), CallPeer(c, initiator=True))),
        CallPeerJoined((b, c), one, a, initiator=False),
    ]


def test_leaving_tells_those_who_stay_and_a_merge_is_leave_then_join() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b", "c")
    settle(book, graph, "a")
    graph.chain("d", "e")
    settle(book, graph, "d")
    graph.eligible.discard(a)
    events = settle(book, graph, "a")
    assert events == [CallLeft((a,), one), CallPeerLeft((b, c), one, a)]
    graph.chain("c", "d")
    events = settle(book, graph, "c")
    # Equal sizes: call-1 keeps its id; d and e leave call-2 (which ends) and join call-1.
    assert events == [
        CallLeft((d,), two),
        CallLeft((e,), two),
        CallEnded(two, 2),
        CallJoined((d,), one, (CallPeer(b, True), CallPeer(c, True), CallPeer(e, True))),
        CallJoined((e,), one, (CallPeer(b, True), CallPeer(c, True), CallPeer(d, False))),
        CallPeerJoined((b, c), one, d, initiator=False),
        CallPeerJoined((b, c), one, e, initiator=False),
    ]
    assert [(call_id, peak) for call_id, _, peak in book.calls()] == [(one, 4)]


def test_an_ending_call_reports_its_peak() -> None:
    graph, book = Graph(), CallBook(6)
    graph.chain("a", "b", "c")
    settle(book, graph, "a")
    graph.eligible.discard(a)
    settle(book, graph, "a")
    graph.eligible.discard(b)
    assert settle(book, graph, "b") == [CallLeft((b,), one), CallLeft((c,), one), CallEnded(one, 3)]


def test_call_full_is_sent_again_only_when_the_awaited_call_changes() -> None:
    graph, book = Graph(), CallBook(2)
    graph.chain("b", "c", "d")
    settle(book, graph, "b")
    assert book.waiting_for(d) == one
    # d is linked to a second full call too: still waiting for the first, nothing to say.
    graph.chain("d", "e")
    graph.chain("e", "a")
    events = settle(book, graph, "e")
    assert calls(book) == {one: {"b", "c"}, two: {"a", "e"}}
    assert CallFull((d,), two) not in events and book.waiting_for(d) == one
    graph.cut("c", "d")
    assert settle(book, graph, "c", "d") == [CallFull((d,), two)]
    graph.cut("d", "e")
    assert settle(book, graph, "d", "e") == []
    assert book.waiting_for(d) is None


def test_restored_books_behave_like_the_original() -> None:
    graph = Graph()
    graph.chain("a", "b", "c")
    book = CallBook(3, started=4)
    book.restore(CallId("call-4"), [a, b], peak=3)
    book.refresh_waiting(graph, [a, b, c])
    assert book.call_of(a) == "call-4" and book.call_of(c) is None
    settle(book, graph, "c")
    assert calls(book) == {"call-4": {"a", "b", "c"}}
    graph.chain("d", "e")
    settle(book, graph, "d")
    assert book.call_of(d) == "call-5"


def test_refresh_waiting_finds_who_waits() -> None:
    graph = Graph()
    graph.chain("a", "b", "c")
    book = CallBook(2)
    book.restore(one, [a, b], peak=2)
    book.refresh_waiting(graph, [a, b, c])
    assert book.waiting_for(c) == one


def test_an_id_generator_that_repeats_itself_is_caught() -> None:
    graph, book = Graph(), CallBook(6, call_ids=lambda _: CallId("same"))
    graph.chain("a", "b")
    settle(book, graph, "a")
    graph.chain("c", "d")
    with pytest.raises(ValueError, match="repeated"):
        settle(book, graph, "c")


def test_unknown_calls_have_no_members() -> None:
    with pytest.raises(KeyError):
        CallBook(6).members(one)


class _AlwaysSettle(CallBook):
    """A call book without the shortcut for commands that change nothing."""

    def _unchanged(self, graph: Links, touched: Sequence[UserId], *, lost: bool) -> bool:
        return False


@settings(SCRIPTED, max_examples=100)
@given(script=scripts, config=configs)
def test_the_shortcut_never_changes_the_outcome(script: list[Command], config: SpaceConfig) -> None:
    fast = Space(PLAYGROUND, config=config)
    slow = Space(PLAYGROUND, config=config)
    slow._calls = _AlwaysSettle(config.max_call_size)
    for command in script:
        assert run(fast, command) == run(slow, command)


def test_a_new_link_to_a_full_call_with_a_smaller_id_is_announced() -> None:
    graph, book = Graph(), CallBook(2)
    graph.chain("a", "b")
    graph.chain("c", "d", "v")
    settle(book, graph, "a", "c")
    assert book.waiting_for(UserId("v")) == two
    graph.chain("a", "v")
    assert book.settle(graph, [a], lost=False) == [CallFull((UserId("v"),), one)]


def test_a_new_link_between_calls_that_fit_together_merges_them() -> None:
    graph, book = Graph(), CallBook(4)
    graph.chain("a", "b")
    graph.chain("c", "d")
    settle(book, graph, "a", "c")
    graph.chain("b", "c")
    assert book.settle(graph, [b], lost=False)
    assert calls(book) == {one: {"a", "b", "c", "d"}}


def test_shuffling_inside_a_call_or_next_to_calls_too_big_changes_nothing() -> None:
    graph, book = Graph(), CallBook(3)
    graph.chain("a", "b", "c")
    graph.chain("d", "e")
    settle(book, graph, "a", "d")
    graph.chain("a", "c")
    graph.chain("c", "d")
    assert book.settle(graph, [c], lost=False) == []
    graph.cut("a", "b")
    assert book.settle(graph, [a, b], lost=True) == []
    assert calls(book) == {one: {"a", "b", "c"}, two: {"d", "e"}}


def test_a_waiting_user_newly_linked_to_a_call_with_room_joins_it() -> None:
    graph, book = Graph(), CallBook(3)
    graph.chain("a", "b", "c", "v")
    graph.chain("d", "e")
    settle(book, graph, "a", "d")
    assert book.waiting_for(UserId("v")) == one
    graph.chain("d", "v")
    book.settle(graph, [d], lost=False)
    assert calls(book) == {one: {"a", "b", "c"}, two: {"d", "e", "v"}}
    assert book.waiting_for(UserId("v")) is None
