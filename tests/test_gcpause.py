"""itembank.gcpause: the collector paused inside, resumed outside, without a walk of what was made."""

from __future__ import annotations

import gc

import pytest

from itembank.gcpause import frozen, gc_paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_resumed_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumed_after_an_exception():
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_resume_only_at_the_outermost():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_keeps_it_paused():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_what_was_made_inside_goes_straight_to_the_oldest_generation():
    # Without the settling step the 50,000 lists would wait in generation 0, and the first young
    # collection after the pause would walk them all (and leave them in generation 1).
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0], 1_000_000, 1_000_000)  # young collections only: nothing promoted twice
    try:
        with gc_paused():
            kept = [[i] for i in range(50_000)]
    finally:
        gc.set_threshold(*threshold)
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(x) in oldest for x in kept[:100] + kept[-100:])
    assert gc.get_freeze_count() == 0  # unfrozen again: collected as usual later
    del kept


def test_objects_someone_froze_stay_frozen():
    frozen = [[i] for i in range(1_000)]
    gc.freeze()
    before = gc.get_freeze_count()
    with gc_paused():
        made = [[i] for i in range(1_000)]
    assert gc.get_freeze_count() == before
    del frozen, made


def test_cyclic_garbage_made_inside_is_collected_later():
    class Node:
        pass

    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        del a, b
    assert gc.collect() >= 2


def test_inside_frozen_the_frozen_objects_stay_frozen_without_being_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build's workers export inside ``frozen()``: the pause leaves the bank frozen, and does not
    count it (``gc.get_freeze_count`` walks every frozen object)."""
    kept = [[i] for i in range(1_000)]
    with frozen():
        before = gc.get_freeze_count()
        assert before >= 1_000
        with monkeypatch.context() as m:
            m.setattr(gc, "get_freeze_count", lambda: pytest.fail("counted the frozen objects"))
            with gc_paused():
                made = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() == before
    assert gc.get_freeze_count() == 0  # unfrozen after the block
    del kept, made


def test_frozen_unfreezes_after_an_exception() -> None:
    with pytest.raises(RuntimeError), frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
    with gc_paused():  # and a pause after it settles what it made again
        made = [[i] for i in range(100)]
    assert gc.get_freeze_count() == 0
    del made
