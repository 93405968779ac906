"""itembank.forked.shared_out: independent pieces of one job shared out over forked processes."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from itembank.errors import ItembankError
from itembank.forked import can_fork, in_task_order, shared_out

PARENT = os.getpid()
forking = pytest.mark.skipif(not can_fork(), reason="this machine does not fork (one core, macOS, threads, ITEMBANK_JOBS=1)")


def _pids(share: Sequence[int]) -> tuple[list[int], int]:
    return list(share), os.getpid()


def test_one_job_runs_here_on_every_task() -> None:
    assert shared_out(_pids, [1, 2, 3], 1) == [([1, 2, 3], os.getpid())]


@forking
def test_shares_are_fixed_by_the_task_order_and_run_in_children() -> None:
    out = shared_out(_pids, list(range(7)), 3)
    assert [share for share, _ in out] == [[0, 3, 6], [1, 4], [2, 5]]
    pids = [pid for _, pid in out]
    assert pids[0] == os.getpid() and len(set(pids)) == 3


@forking
def test_never_more_shares_than_tasks() -> None:
    assert [share for share, _ in shared_out(_pids, [5, 6], 8)] == [[5], [6]]
    assert shared_out(_pids, [], 4) == [([], os.getpid())]


def test_without_fork_one_share_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITEMBANK_JOBS", "1")
    assert shared_out(_pids, [1, 2, 3], 3) == [([1, 2, 3], os.getpid())]


def _fails(share: Sequence[int]) -> int:
    if 1 in share:
        raise ItembankError("item q1: cannot be shown")
    return len(share)


@forking
def test_an_error_of_a_share_is_raised_here() -> None:
    with pytest.raises(ItembankError, match="item q1: cannot be shown"):
        shared_out(_fails, [0, 1], 2)


def _dies_in_a_child(share: Sequence[int]) -> tuple[list[int], int]:
    if os.getpid() != PARENT:
        os._exit(3)
    return list(share), os.getpid()


@forking
def test_a_share_whose_child_dies_is_done_here() -> None:
    assert shared_out(_dies_in_a_child, [0, 1, 2], 2) == [([0, 2], PARENT), ([1], PARENT)]


def _squares(share: Sequence[int]) -> list[int]:
    return [t * t for t in share]


@pytest.mark.parametrize("count", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("jobs", [1, 2, 3, 4])
def test_results_of_the_shares_come_back_in_the_tasks_order(count: int, jobs: int) -> None:
    """A work that gives one result per task: its shares' results, put back in the tasks' order,
    are one process's results, whatever the number of shares."""
    tasks = list(range(count))
    assert in_task_order(shared_out(_squares, tasks, jobs), count) == _squares(tasks)


def _fails_on_1_and_2(share: Sequence[int]) -> int:
    for task in share:
        if task in (1, 2):
            raise ItembankError(f"item q{task}: cannot be shown")
    return len(share)


@forking
@pytest.mark.parametrize("jobs", [2, 3])
def test_of_two_failing_tasks_the_error_names_the_first_in_task_order(jobs: int) -> None:
    """Task 2 is in this process's share (with 2 jobs) and fails before a child's share (task 1) is
    looked at; with 3 jobs the two are in two children's shares: either way the error is the one a
    single process raises, task 1's."""
    with pytest.raises(ItembankError, match="item q1:") as raised:
        shared_out(_fails_on_1_and_2, list(range(6)), jobs)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    with pytest.raises(ItembankError, match="item q1:"):
        shared_out(_fails_on_1_and_2, list(range(6)), 1)


_ONCE: list[int] = []


def _fails_once_in_this_process(share: Sequence[int]) -> int:
    if os.getpid() == PARENT and 0 in share and not _ONCE:
        _ONCE.append(1)
        raise ItembankError("item q0: failed once")
    return len(share)


@forking
def test_an_error_that_does_not_come_again_is_still_raised() -> None:
    """The tasks run again in one process give no error: the share's error is raised, not lost."""
    _ONCE.clear()
    with pytest.raises(ItembankError, match="item q0: failed once"):
        shared_out(_fails_once_in_this_process, [0, 1, 2], 2)
