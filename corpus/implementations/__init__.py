"""A corpus of student-style implementations of the five graded functions.

*Correct variants* are written in different styles (loops, broadcasting, ``cdist``, squared
distances, ``np.add.at``, global ``np.random`` or the passed ``rng``, other integer dtypes): every
one must earn full marks. *Mutants* are realistic bugs: each must lose points on its own
function's cells and nowhere else, and where ``mistake`` is given (a regular expression) the
feedback must name the mistake.

Every variant is an ordinary Python function in one of this package's modules; ``all_variants()``
collects them.
"""
import importlib
from dataclasses import dataclass
from typing import Callable, Optional

FUNCTIONS = ("sample_gmm", "get_cluster_assignments", "get_cluster_centroids", "e_step", "m_step")
_MODULES = ("sample_gmm", "assignments", "centroids", "e_step", "m_step")


@dataclass(frozen=True)
class Variant:
    """One implementation of a graded function, labelled as correct or as a named mistake."""

    function: str  # which graded function it implements
    name: str  # the Python function's name in the corpus
    implementation: Callable
    correct: bool
    description: str
    mistake: Optional[str] = None  # regex the feedback must match (mutants whose mistake is recognisable)

    @property
    def label(self):
        return f"{self.function}:{self.name}"


class Registry:
    """Collects the variants of one corpus module (decorators ``correct`` and ``mutant``)."""

    def __init__(self, function):
        self.function = function
        self.variants = []

    def correct(self, description):
        def register(implementation):
            self.variants.append(Variant(self.function, implementation.__name__, implementation, True, description))
            return implementation

        return register

    def mutant(self, description, mistake=None):
        def register(implementation):
            self.variants.append(Variant(self.function, implementation.__name__, implementation, False, description, mistake))
            return implementation

        return register


def all_variants():
    """Every variant of every graded function, correct ones first within each function."""
    variants = []
    for module_name in _MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        variants.extend(sorted(module.registry.variants, key=lambda v: not v.correct))
    return variants
