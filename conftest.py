"""Shared test set-up for the whole repository (pytest loads it before any test module)."""
import os

import pytest

# One BLAS/OpenMP thread, as in the grading kernels and the verifier: on a 2-core machine running
# kernels, threads only fight each other (a 2x2 triangular solve took milliseconds).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

# nbgrader runs helper programs (alembic) by name: the same PATH ./course gives every command.
from autograder.course import tool_environment  # noqa: E402

os.environ["PATH"] = tool_environment()["PATH"]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``./course demo`` run once for the session (its outputs are only read by the tests that use it)."""
    from autograder.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo"))
