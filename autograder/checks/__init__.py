"""Hidden-test checks for lab5: one small function per graded property.

A hidden-test cell calls one of them in one line, e.g.
``from autograder.checks import check_e_step_values; check_e_step_values(e_step)``.
A passing check returns None silently; a failing one raises ``AssertionError`` whose whole
traceback, as the student sees it, is a short message: expected, got, likely mistake.

The exported names are served from a private table (the module's class is replaced below), so a
student cell that ran ``autograder.checks.check_e_step_values = lambda f: None`` before the hidden
cell neither replaces the check nor goes unnoticed: the attempt is recorded and every check fails
closed. See ``_guard`` for the rest of the tamper detection.
"""
import sys
import types

from autograder.checks import _guard
from autograder.checks._feedback import TAMPER_MARKER, CheckFailure
from autograder.checks.em import (
    check_e_step_hard,
    check_e_step_shape,
    check_e_step_values,
    check_em_from_scratch,
    check_m_step_hard,
    check_m_step_shape,
    check_m_step_values,
)
from autograder.checks.kmeans import (
    check_get_cluster_assignments_easy,
    check_get_cluster_assignments_hard,
    check_get_cluster_assignments_shape,
    check_get_cluster_centroids_easy,
    check_get_cluster_centroids_hard,
    check_get_cluster_centroids_shape,
)
from autograder.checks.library import (
    check_elbow_scores,
    check_em_convergence,
    check_kmeans_sklearn,
    check_new_samples,
    check_quantised_images,
)
from autograder.checks.sampling import (
    check_sample_gmm_moments,
    check_sample_gmm_proportions,
    check_sample_gmm_shape,
)

__all__ = sorted(name for name in dir() if name.startswith("check_")) + ["CheckFailure", "TAMPER_MARKER"]


def _protect(module, exported, record):
    """Serve ``exported`` names from a private copy and record attempts to reassign or delete them."""

    class ProtectedChecksModule(types.ModuleType):
        def __getattribute__(self, name):
            if name in exported:
                return exported[name]
            return types.ModuleType.__getattribute__(self, name)

        def __setattr__(self, name, value):
            if name in exported:
                record(f"autograder.checks.{name} (reassigned)")
                return
            types.ModuleType.__setattr__(self, name, value)

        def __delattr__(self, name):
            if name in exported:
                record(f"autograder.checks.{name} (deleted)")
                return
            types.ModuleType.__delattr__(self, name)

    module.__class__ = ProtectedChecksModule
    namespace = types.ModuleType.__getattribute__(module, "__dict__")

    def still_protected():
        """Problems if the module lost its protection (class reset, entries rewritten, module replaced)."""
        problems = []
        if type(module) is not ProtectedChecksModule:
            problems.append("autograder.checks (module class reset)")
        if sys.modules.get(module.__name__) is not module:
            problems.append("sys.modules['autograder.checks'] (replaced)")
        problems.extend(f"autograder.checks.{name} (rewritten)" for name, value in exported.items() if namespace.get(name) is not value)
        return problems

    return still_protected


_guard.add_invariant(_protect(sys.modules[__name__], {name: globals()[name] for name in __all__}, _guard.record_tampering))
