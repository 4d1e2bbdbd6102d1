"""The sampler checks' stated false-failure probability (at most 1e-6), shown empirically.

All runs are seeded (seeds 0, 1, ...), so each test is deterministic. The statements below say
how likely a test would be to fail had the seeds been random, for a correct implementation of
the checks.
"""
import math

import pytest

from autograder.checks import _stats
from benchmarks import calibration

LOOSE_BUDGET = 0.05
LEVEL = 0.05


def tolerance(rate, n, sigmas=5.5):
    """Half-width for an observed share of n seeds: 5.5 standard deviations of a binomial share
    (a false alarm below 4e-8 if independent; per-test shares are averaged, which only shrinks the spread)."""
    return sigmas * math.sqrt(rate * (1 - rate) / n)


def assert_calibrated(result):
    for family, (observed, expected) in result.rejection_rates(LEVEL).items():
        assert abs(observed - expected) <= tolerance(expected, result.seeds), (family, observed, expected)
    loose = result.failures(LOOSE_BUDGET)
    for check, count in loose.items():
        # Union bound: at most LOOSE_BUDGET of the seeds; and not far below it either (the
        # statistics are exact, the Bonferroni family is only mildly dependent).
        assert count <= LOOSE_BUDGET * result.seeds + tolerance(LOOSE_BUDGET, result.seeds) * result.seeds, (check, count)
        assert count >= 0.5 * LOOSE_BUDGET * result.seeds, (check, count)


def test_sampler_checks_are_calibrated_on_2000_seeds():
    """Loose threshold on 2,000 seeds: per-test rejection rates match their exact values."""
    result = calibration.run(2000, first_seed=100_000)
    assert result.failures(_stats.FALSE_FAILURE_BUDGET) == {"proportions": 0, "moments": 0}
    assert_calibrated(result)


@pytest.mark.slow
def test_no_false_failure_in_10000_seeds():
    """10,000 seeds at the real budget: no failure. With a true rate of at most 1e-6 per check,
    a failure among 10,000 seeds would have probability at most 1e-2 per check."""
    result = calibration.run(10_000)
    assert result.failures(_stats.FALSE_FAILURE_BUDGET) == {"proportions": 0, "moments": 0}
    assert_calibrated(result)
