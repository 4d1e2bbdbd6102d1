"""How much better than plain asserts are the hidden-test checks? (issue 3)

Rows:
* catch rate over the mutant corpus, and the share of mutants whose feedback names the mistake,
  for ``autograder.checks`` and for the plain-assert baseline (``autograder/tests/baseline_asserts.py``);
* share of correct variants given full marks (a plain test comparing one random stream fails
  correct code written in another style);
* the sampler checks on a correct sampler over 10,000 seeds: failures at the real budget (1e-6
  per check), at a loose budget (0.05), and per-test rejection rates against their exact values;
* time per check call on the reference implementation, against the baseline test's time.
"""
import re
import time
import warnings

import numpy as np

from autograder import reference
from autograder.checks import _stats
from benchmarks import calibration
from benchmarks.baseline_asserts import BASELINE_TESTS, run_baseline
from corpus.implementations import all_variants
from corpus.implementations.grading import FUNCTION_CHECKS, grade_variant, run_check
from benchmarks.harness import Row, median_of, seconds

CALIBRATION_SEEDS = 10_000
LOOSE_BUDGET = 0.05
LEVEL = 0.05


def _percent(count, total):
    return 100.0 * count / total if total else float("nan")


def corpus_rows():
    variants = all_variants()
    mutants = [v for v in variants if not v.correct]
    correct = [v for v in variants if v.correct]
    ours = {v.label: [o.message for o in grade_variant(v).values() if not o.passed] for v in variants}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the baseline lets the mutants' warnings through; keep the table readable
        base = {v.label: run_baseline(v) for v in variants}

    caught_ours = sum(bool(ours[v.label]) for v in mutants)
    caught_base = sum(not base[v.label][0] for v in mutants)
    named = lambda v, texts: bool(v.mistake) and any(re.search(v.mistake, t) for t in texts)
    named_ours = sum(named(v, ours[v.label]) for v in mutants)
    named_base = sum(named(v, [base[v.label][1]]) for v in mutants if not base[v.label][0])
    full_ours = sum(not ours[v.label] for v in correct)
    full_base = sum(base[v.label][0] for v in correct)
    n = len(mutants)
    return [
        Row("mutants caught (checks vs plain asserts)", "%", _percent(caught_ours, n), "plain asserts", _percent(caught_base, n),
            note=f"{caught_ours}/{n} vs {caught_base}/{n} mutants lose points"),
        Row("mutant feedback names the mistake", "%", _percent(named_ours, n), "plain asserts", _percent(named_base, n),
            note=f"{named_ours}/{n} vs {named_base}/{n}; {sum(bool(v.mistake) for v in mutants)} mutants have a recognisable pattern"),
        Row("correct variants given full marks", "%", _percent(full_ours, len(correct)), "plain asserts", _percent(full_base, len(correct)),
            note=f"{full_ours}/{len(correct)} vs {full_base}/{len(correct)} correct variants in different styles"),
    ]


def calibration_rows():
    start = time.perf_counter()
    result = calibration.run(CALIBRATION_SEEDS)
    elapsed = time.perf_counter() - start
    strict = result.failures(_stats.FALSE_FAILURE_BUDGET)
    loose = result.failures(LOOSE_BUDGET)
    rates = result.rejection_rates(LEVEL)
    bound = _stats.FALSE_FAILURE_BUDGET * CALIBRATION_SEEDS
    rows = []
    for check in ("proportions", "moments"):
        rows.append(Row(f"sampler {check}: false failures at 1e-6 / {CALIBRATION_SEEDS} seeds", "count", strict[check],
                        "expected at most", bound, note=f"correct sampler, {elapsed:.0f} s for both checks"))
        rows.append(Row(f"sampler {check}: failures at loose budget {LOOSE_BUDGET}", "count", loose[check],
                        "union bound", LOOSE_BUDGET * CALIBRATION_SEEDS))
    for family, (observed, expected) in rates.items():
        rows.append(Row(f"per-test rejection rate at {LEVEL} ({family})", "%", 100 * observed, "exact", 100 * expected))
    return rows


def _implementations():
    return {name: getattr(reference, name) for name in BASELINE_TESTS}


def timing_rows(repeats):
    rows = []
    implementations = _implementations()
    for function, baseline in BASELINE_TESTS.items():
        names = sorted(name for name, args in FUNCTION_CHECKS.items() if args == (function,))
        ours, samples = median_of(lambda: seconds(lambda: [run_check(name, implementations) for name in names]), repeats)
        base, _ = median_of(lambda: seconds(lambda: _run_quietly(baseline, implementations[function])), repeats)
        rows.append(Row(f"time of {function}'s {len(names)} checks", "ms", 1000 * ours, "plain asserts", 1000 * base,
                        runs=repeats, samples=samples))
    em, samples = median_of(lambda: seconds(lambda: run_check("check_em_from_scratch", implementations)), repeats)
    rows.append(Row("time of check_em_from_scratch", "ms", 1000 * em, runs=repeats, samples=samples))
    return rows


def _run_quietly(test, implementation):
    """Run a baseline test for its time only (the reference fails the one-stream comparison)."""
    try:
        test(implementation)
    except AssertionError:
        pass


def run(repeats):
    return corpus_rows() + timing_rows(repeats) + calibration_rows()
