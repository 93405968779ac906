"""exporters/kit/forked.py: pieces of one export shared out over forked processes."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from itembank.errors import ItembankError
from itembank.exporters.kit.forked import can_fork, shared_out

pytestmark = pytest.mark.skipif(not can_fork(), reason="the platform cannot fork")


def _pids(share: Sequence[int]) -> tuple[list[int], int]:
    return list(share), os.getpid()


def test_one_job_runs_here_on_every_task() -> None:
    assert shared_out(_pids, [1, 2, 3], 1) == [([1, 2, 3], os.getpid())]


def test_shares_are_fixed_by_the_task_order_and_run_in_children() -> None:
    out = shared_out(_pids, list(range(7)), 3)
    assert [share for share, _ in out] == [[0, 3, 6], [1, 4], [2, 5]]
    pids = [pid for _, pid in out]
    assert pids[0] == os.getpid() and len(set(pids)) == 3


def test_never_more_shares_than_tasks() -> None:
    assert [share for share, _ in shared_out(_pids, [5, 6], 8)] == [[5], [6]]
    assert shared_out(_pids, [], 4) == [([], os.getpid())]


def _fails_in_child(share: Sequence[int]) -> int:
    if 1 in share:
        raise ItembankError("item q1: cannot be shown")
    return len(share)


def test_a_childs_error_is_raised_here() -> None:
    with pytest.raises(ItembankError, match="item q1: cannot be shown"):
        shared_out(_fails_in_child, [0, 1], 2)


class _Unpicklable(Exception):
    def __init__(self, lock: object) -> None:
        super().__init__("with a lock")
        self.lock = lock

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("cannot pickle")


def _fails_unpicklably(share: Sequence[int]) -> int:
    if 1 in share:
        raise _Unpicklable(object())
    return 0


def test_an_error_that_cannot_travel_arrives_as_its_text() -> None:
    with pytest.raises(ItembankError, match="_Unpicklable: with a lock"):
        shared_out(_fails_unpicklably, [0, 1], 2)


def _dies(share: Sequence[int]) -> int:
    if 1 in share:
        os._exit(3)
    return 0


def test_a_child_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(ItembankError, match="exit code 3"):
        shared_out(_dies, [0, 1], 2)
