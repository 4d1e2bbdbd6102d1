"""Exact tests for random output, with a stated false-failure budget.

A correct sampler must fail a statistical check with probability at most ``FALSE_FAILURE_BUDGET``
(1e-6). Every test here is *exact* for a correct sampler, so the bound needs no large-sample
approximation:

* ``binomial_pvalue`` -- the count of one category among N independent draws is exactly
  Binomial(N, p). The two-sided p-value ``min(1, 2 min(P[C <= c], P[C >= c]))`` satisfies
  ``P(p-value <= a) <= a`` (each tail of a discrete distribution has probability at most a/2 of
  reaching level a/2).
* ``mean_pvalue`` -- given the labels, the n rows labelled k are i.i.d. N(mu, Sigma), so
  ``n (xbar - mu)' Sigma^-1 (xbar - mu)`` is exactly chi-square with d degrees of freedom.
* ``spread_pvalue`` -- for a fixed direction v, ``sum_i (v'(x_i - mu))^2 / (v' Sigma v)`` is exactly
  chi-square with n degrees of freedom (known mean). Directions along the axes, along the
  eigenvectors of Sigma and along the diagonals (e_i +- e_j) catch wrong scales, swapped axes and
  ignored off-diagonal terms.

A check runs m such tests and fails when any p-value is below ``budget / m`` (Bonferroni). By the
union bound its false-failure probability is at most ``sum(budget / m) = budget``. The benchmark
(``benchmarks/bench_checks.py``) and the slow test measure it over 10,000 seeds.
"""
import numpy as np
from scipy import special, stats

FALSE_FAILURE_BUDGET = 1e-6


def binomial_pvalue(count, n, p):
    """Exact two-sided p-value of ``count`` successes in ``n`` Binomial(n, p) trials."""
    if p <= 0:
        return 1.0 if count == 0 else 0.0
    if p >= 1:
        return 1.0 if count == n else 0.0
    lower = special.bdtr(count, n, p)  # P[C <= count]
    upper = 1.0 if count <= 0 else special.bdtrc(count - 1, n, p)  # P[C >= count]
    return float(min(1.0, 2 * min(lower, upper)))


def mean_pvalue(points, mean, covariance):
    """Exact p-value that ``points`` (n, d) have mean ``mean`` given their known covariance."""
    n, d = points.shape
    offset = points.mean(axis=0) - mean
    statistic = n * offset @ np.linalg.solve(covariance, offset)
    return float(special.chdtrc(d, statistic))


def spread_directions(covariance):
    """Unit directions whose spread the covariance test checks (axes, eigenvectors, diagonals)."""
    d = covariance.shape[0]
    directions = list(np.eye(d))
    if d > 1:
        directions.extend(np.linalg.eigh(covariance)[1].T)
        for i in range(d):
            for j in range(i + 1, d):
                for sign in (1.0, -1.0):
                    v = np.zeros(d)
                    v[i], v[j] = 1.0, sign
                    directions.append(v / np.sqrt(2))
    return directions


def spread_pvalues(points, mean, covariance):
    """Exact two-sided p-values that ``points`` have covariance ``covariance`` along each test direction."""
    n = points.shape[0]
    directions = np.array(spread_directions(covariance))  # (m, d)
    statistics = np.sum(((points - mean) @ directions.T) ** 2, axis=0) / np.einsum("md,de,me->m", directions, covariance, directions)
    lower, upper = special.chdtr(n, statistics), special.chdtrc(n, statistics)
    return np.minimum(1.0, 2 * np.minimum(lower, upper)).tolist()


def rejects(pvalues, budget=FALSE_FAILURE_BUDGET):
    """Bonferroni: True when some p-value is below ``budget / len(pvalues)``."""
    return len(pvalues) > 0 and min(pvalues) < budget / len(pvalues)


def binomial_rejection_probability(n, p, level):
    """Exact probability that ``binomial_pvalue(C, n, p) < level`` when C ~ Binomial(n, p) (for calibration)."""
    counts = np.arange(n + 1)
    pvalues = np.minimum(1.0, 2 * np.minimum(stats.binom.cdf(counts, n, p), stats.binom.sf(counts - 1, n, p)))
    return float(stats.binom.pmf(counts, n, p)[pvalues < level].sum())
