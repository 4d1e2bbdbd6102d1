"""Empirical false-failure rate and calibration of the sampler checks (used by the slow test and the benchmark).

For every seed the checks' own p-value functions (``sampling.proportion_pvalues`` and
``sampling.moment_pvalues``) are run on a correct sampler, and the p-values are kept, so one run
answers both questions:

* **false failures** -- how many seeds make a check fail at its real budget (1e-6), and at a loose
  budget (e.g. 0.05) where failures must be common enough to count;
* **calibration** -- at a per-test level ``a``, each chi-square test (exact for a correct sampler)
  must reject in a share ``a`` of the seeds, and each binomial test in exactly the share
  ``_stats.binomial_rejection_probability`` computes. A statistic that never rejects would pass
  the first question and fail this one.
"""
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from autograder import reference
from autograder.checks import _stats, sampling


def seed_pvalues(seed, sampler=reference.sample_gmm):
    """(proportion p-values, moment p-values) of one seed, as arrays in a fixed order.

    Each seed is a grading run: its own test mixtures (``sampling.test_mixtures``) and its own
    draws. One draw per test mixture serves both checks (each check's false-failure rate is a
    property of that check alone, so sharing draws between them does not bias either estimate).
    """
    rng = np.random.default_rng(seed)
    proportions, moments = [], []
    for name, mixture in sampling.test_mixtures(rng).items():
        X, z = sampler(*mixture, rng=rng)
        proportions.extend(row[-1] for row in sampling.proportion_rows(name, mixture, z))
        moments.extend(row[-1] for row in sampling.moment_rows(name, mixture, X, z))
    return np.array(proportions), np.array(moments)


def _chunk(seeds):
    rows = [seed_pvalues(int(seed)) for seed in seeds]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


@dataclass
class Calibration:
    proportions: np.ndarray  # (seeds, 14) p-values
    moments: np.ndarray  # (seeds, 118) p-values

    @property
    def seeds(self):
        return len(self.proportions)

    def failures(self, budget):
        """{check: number of seeds on which it fails at ``budget``} (Bonferroni as in the checks)."""
        return {
            "proportions": int(sum(_stats.rejects(list(row), budget) for row in self.proportions)),
            "moments": int(sum(_stats.rejects(list(row), budget) for row in self.moments)),
        }

    def rejection_rates(self, level):
        """Observed and expected mean per-test rejection rate at ``level``, per family of tests."""
        # The mixtures' weights are permutations of fixed vectors: the (N, p) pairs are the same in every run.
        mixtures = sampling.test_mixtures(np.random.default_rng(0)).values()
        expected_binomial = np.mean([
            _stats.binomial_rejection_probability(mixture[0], float(p), level) for mixture in mixtures for p in mixture[1]
        ])
        return {
            "binomial": (float(np.mean(self.proportions < level)), float(expected_binomial)),
            "chi-square": (float(np.mean(self.moments < level)), float(level)),
        }


def run(n_seeds, first_seed=0, workers=2):
    """Run the checks' statistics for seeds ``first_seed .. first_seed + n_seeds - 1`` (in ``workers`` processes)."""
    seeds = np.arange(first_seed, first_seed + n_seeds)
    chunks = np.array_split(seeds, max(1, workers * 4))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_chunk, chunks))
    else:
        parts = [_chunk(chunk) for chunk in chunks]
    return Calibration(np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts]))
