"""Classical test theory figures, computed the way Moodle's quiz statistics report computes them.

Followed: moodle/moodle ``question/classes/statistics/questions/calculator.php`` (per question:
``initial_question_walker``, ``secondary_steps_walker``, ``secondary_question_walker``) and
``mod/quiz/report/statistics/classes/calculator.php`` (per test: median, SD, skewness, kurtosis,
coefficient of internal consistency, error ratio, standard error), as in Moodle 4.3–4.5.  With
*x* an item's marks, *o* the marks on the rest of the test (attempt total − *x*), *s* attempts:

- facility = mean(x) / max mark
- SD = sqrt(Σ(x − x̄)² / (s − 1)) (Moodle shows SD / max mark)
- discrimination index = cov(x, o) / sqrt(var(x) var(o))  (Moodle shows it ×100)
- discriminative efficiency = cov(x, o) / cov_max, where cov_max pairs x and o each sorted
  ascending: the largest covariance those marks allow (Moodle shows it ×100)
- test: k2 = Σ(T − T̄)²/(s − 1), k3 = s² m3 / ((s − 1)(s − 2)), k4 = s² ((s + 1) m4 − 3 (s − 1) m2²) / ((s − 1)(s − 2)(s − 3))
  with m_r = Σ(T − T̄)^r / s; skewness = k3 / k2^1.5; kurtosis = k4 / k2²;
  α (Moodle's CIC) = p/(p − 1) · (1 − Σ var(x_j) / k2); error ratio = sqrt(1 − α); standard error = error ratio · SD.

Figures are fractions here (facility 0.75, discrimination 0.43); Moodle's screen shows them ×100
as percentages.  Undefined figures (a constant item, too few attempts) are ``None``, as in Moodle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ItemFigures:
    s: int
    facility: float | None
    mean_mark: float
    sd: float | None  # raw marks (Moodle's markvariance ** 0.5)
    discrimination: float | None  # correlation with the rest of the test, -1..1
    efficiency: float | None  # discriminative efficiency, a fraction (can exceed 1 in theory: it does not here)


def item_figures(x: Array, o: Array, max_mark: float) -> ItemFigures:
    """Moodle's per-slot statistics for marks ``x`` and rest-of-test marks ``o`` (same attempts)."""
    s = int(x.shape[0])
    if s == 0:
        return ItemFigures(0, None, 0.0, None, None, None)
    xm = float(x.mean())
    om = float(o.mean())
    facility = xm / max_mark if max_mark else None
    if s < 2:
        return ItemFigures(s, facility, xm, None, None, None)
    dx = x - xm
    do = o - om
    markvariance = float(dx @ dx) / (s - 1)
    othervariance = float(do @ do) / (s - 1)
    covariance = float(dx @ do) / (s - 1)
    covmax = float((np.sort(x) - xm) @ (np.sort(o) - om)) / (s - 1)
    product = markvariance * othervariance
    discrimination = covariance / math.sqrt(product) if product > 0 else None
    efficiency = covariance / covmax if covmax else None
    return ItemFigures(s, facility, xm, math.sqrt(markvariance), discrimination, efficiency)


def correlation(a: Array, b: Array) -> float | None:
    """Pearson correlation (Moodle's discrimination formula applied to any two vectors); None if one is constant."""
    if a.shape[0] < 2:
        return None
    da = a - a.mean()
    db = b - b.mean()
    denom = float(da @ da) * float(db @ db)
    return float(da @ db) / math.sqrt(denom) if denom > 0 else None


@dataclass(frozen=True)
class TestFigures:
    s: int
    items: int  # p, the number of slots
    max_total: float
    mean: float | None
    median: float | None
    sd: float | None
    skewness: float | None
    kurtosis: float | None
    alpha: float | None  # Moodle's coefficient of internal consistency, a fraction
    error_ratio: float | None  # a fraction
    standard_error: float | None  # in marks


def test_figures(marks: Array, max_total: float) -> TestFigures:
    """Moodle's quiz statistics for a complete marks matrix (attempts × slots)."""
    s, p = marks.shape
    if s == 0:
        return TestFigures(0, p, max_total, None, None, None, None, None, None, None, None)
    totals = marks.sum(axis=1)
    mean = float(totals.mean())
    ordered = np.sort(totals)
    median = float(ordered[s // 2]) if s % 2 else float((ordered[s // 2 - 1] + ordered[s // 2]) / 2)
    sd = skew = kurt = alpha = error_ratio = se = None
    if s > 1:
        d = totals - mean
        power2 = float(d @ d)
        sd = math.sqrt(power2 / (s - 1))
        if s > 2:
            m2 = power2 / s
            m3 = float((d**3).sum()) / s
            m4 = float((d**4).sum()) / s
            k2 = s * m2 / (s - 1)
            k3 = s * s * m3 / ((s - 1) * (s - 2))
            if k2 != 0:
                skew = k3 / k2**1.5
                if s > 3:
                    k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
                    kurt = k4 / (k2 * k2)
                if p > 1:
                    sum_var = float(marks.var(axis=0, ddof=1).sum())
                    alpha = p / (p - 1) * (1 - sum_var / k2)
                    error_ratio = math.sqrt(1 - alpha) if alpha <= 1 else None
                    se = error_ratio * sd if error_ratio is not None else None
    return TestFigures(s, p, max_total, mean, median, sd, skew, kurt, alpha, error_ratio, se)


def midrank_percentiles(totals: Array) -> Array:
    """Each attempt's place in the score distribution, ties sharing their mid-rank: (below + ties/2) / s.

    Score groups cut on this do not depend on row order (tied attempts always fall in the same group).
    """
    s = totals.shape[0]
    if s == 0:
        return totals.copy()
    ordered = np.sort(totals)
    below = np.searchsorted(ordered, totals, side="left")
    upto = np.searchsorted(ordered, totals, side="right")
    out: Array = (below + (upto - below) / 2) / s
    return out


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """A 95% interval for a proportion (Wilson): honest about small classes."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
