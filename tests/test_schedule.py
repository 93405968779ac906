"""The build's schedule (itembank.schedule): the order its workers start the exports in, and the
processes the last one may use.  The builds themselves: tests/test_build_parallel.py."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from itembank.schedule import TAIL_SHARE, start_order, tail_jobs


def test_the_costliest_start_first_and_the_cheapest_that_shares_out_last() -> None:
    # A build's nine formats, cold (their build_cost): json and markdown write in one process.
    names = ["json", "markdown", "gift", "moodle", "canvas", "xlsx", "qti21", "qti30"]
    costs = [0.15, 0.8, 1.2, 1.9, 2.2, 2.3, 3.0, 3.0]
    shares = [False, False, True, True, True, True, True, True]
    assert [names[i] for i in start_order(costs, shares)] == ["qti21", "qti30", "xlsx", "canvas", "moodle", "markdown", "json", "gift"]
    # None shares out: costliest first, the order of equal costs kept.
    assert [names[i] for i in start_order(costs, [False] * len(costs))] == ["qti21", "qti30", "xlsx", "canvas", "moodle", "gift", "markdown", "json"]
    # The cheapest is one that shares out already: nothing moves.
    assert start_order([1.0, 0.5, 2.0], [False, True, False]) == [2, 0, 1]
    assert start_order([], []) == []


@given(st.lists(st.tuples(st.floats(0, 1e6), st.booleans()), max_size=12))
def test_the_order_is_every_export_once_costliest_first_but_the_last(exports: list[tuple[float, bool]]) -> None:
    costs, shares = [c for c, _s in exports], [s for _c, s in exports]
    order = start_order(costs, shares)
    assert sorted(order) == list(range(len(exports)))
    head = order[:-1]
    assert all(costs[a] >= costs[b] for a, b in itertools.pairwise(head))
    if any(shares):
        last = order[-1]
        assert shares[last] and all(costs[i] >= costs[last] for i in range(len(exports)) if shares[i])
    elif order:
        assert all(costs[i] >= costs[order[-1]] for i in order)


def test_the_last_export_shares_out_when_the_others_end_well_before_it() -> None:
    # Nothing else runs: every core.
    assert tail_jobs(1.2, [], [], 2) == 2
    # Started together with one as costly (nothing ended yet: it has its whole cost left): alone,
    # for three processes on two cores would end both later.
    assert tail_jobs(3.0, [(3.0, 0.0)], [], 2) == 1
    # One of cost 0.5 started with it: done long before it.
    assert tail_jobs(3.0, [(0.5, 0.0)], [], 2) == 2
    # The exports that ended took 2 s per unit of cost: moodle (1.9) started 3.0 s ago has 0.4 left.
    done = [(3.0, 6.0), (2.0, 4.0)]
    assert tail_jobs(1.2, [(1.9, 3.0)], done, 2) == 2
    # ... started 0.2 s ago, it has 1.8 left: more than 3/4 of 1.2.
    assert tail_jobs(1.2, [(1.9, 0.2)], done, 2) == 1
    # Past its expected end: nothing left.
    assert tail_jobs(0.1, [(1.0, 100.0)], done, 4) == 4
    # The longest of those running counts.
    assert tail_jobs(1.2, [(1.9, 3.0), (5.0, 0.0)], done, 3) == 1


@given(
    st.floats(0.01, 100),
    st.lists(st.tuples(st.floats(0, 100), st.floats(0, 1000)), max_size=4),
    st.lists(st.tuples(st.floats(0, 100), st.floats(0, 1000)), max_size=6),
    st.integers(1, 16),
)
def test_the_last_export_takes_all_the_workers_or_one(cost: float, running: list[tuple[float, float]], done: list[tuple[float, float]], workers: int) -> None:
    jobs = tail_jobs(cost, running, done, workers)
    assert jobs in (1, workers)
    if all(c < TAIL_SHARE * cost for c, _s in running):  # whatever the clock says: each has at most its cost left
        assert jobs == workers
