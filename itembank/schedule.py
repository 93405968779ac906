"""In what order a build's workers start its exports, and how many processes the last one may use.

A build with workers (:func:`itembank.api.build`) runs each export in one worker process.  Started
costliest first, the exports end close together, but the last one still runs alone while the other
workers are done: 0.4 s of a 10,000-item build, 7.3 s of a 100,000-item one (2026-12-05).  Most
formats can share their items out over forked processes (``ExportContext.jobs``; the formats that
do say so: ``shares_out``); the last export to start is such a one, and it takes the other cores
when the exports still running will be done well before it, its shares then running side by side
with them for a while (:func:`tail_jobs`).

Decisions only, from the exports' expected costs (``build_cost`` per item: :func:`itembank.api._job_cost`)
and the clock; the outputs never depend on them (an export writes the same bytes whatever its jobs).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The last export shares out when the exports still running are expected to end before this part
#: of its own cost.  With two cores, an export of cost ``c`` started beside one with ``r`` left ends
#: after ``c`` alone, and after ``r + c / 4`` shared out in two (three processes on two cores until
#: its two halves are done, ``3c / 4``, then what is left of the other alone): sharing out ends
#: sooner when ``r < 3c / 4``, and ends at ``(r + c) / 2`` when ``r < c / 2``.
TAIL_SHARE = 0.75


def start_order(costs: Sequence[float], shares: Sequence[bool]) -> list[int]:
    """The exports (indexes of ``costs``) in the order workers start them: the costliest first, so
    that no long export starts last while the other workers idle; but the last to start is the
    cheapest of those that share out (``shares``), when there is one, for :func:`tail_jobs`."""
    order = sorted(range(len(costs)), key=lambda i: -costs[i])
    sharing = [i for i in order if shares[i]]
    if sharing and order[-1] != sharing[-1]:
        order.remove(sharing[-1])
        order.append(sharing[-1])
    return order


def tail_jobs(cost: float, running: Sequence[tuple[float, float]], done: Sequence[tuple[float, float]], workers: int) -> int:
    """How many processes the last export of a build (of expected ``cost``) may use: ``workers`` when
    the exports still running are expected to end before :data:`TAIL_SHARE` of its cost, else 1.

    ``running``: (expected cost, seconds since it started) of each export still running; ``done``:
    (expected cost, seconds it took) of each export that ended, which give the seconds a unit of
    cost takes on this machine today.  Without any (the exports started together), a running
    export has its whole cost left."""
    spent = sum(seconds for _cost, seconds in done)
    units = sum(c for c, _seconds in done)
    per_unit = spent / units if spent > 0 and units > 0 else None
    left = max((max(0.0, c - seconds / per_unit) if per_unit else c for c, seconds in running), default=0.0)
    return workers if left < TAIL_SHARE * cost else 1
