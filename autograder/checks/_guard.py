"""Tamper detection: is the kernel's Python still the Python the checks were written for?

Student code runs in the grading kernel before the hidden cells. It could rebind
``np.allclose``, ``np.testing``, ``builtins.AssertionError``, ``print``, a scikit-learn method or
one of our own helpers, and a check that trusted those names could then pass wrong code. Capturing
names when this package is imported does not help by itself: the student's cell ran *before* that
import. So the guard compares the kernel against a source the student cannot reach:

1. **A fresh interpreter.** The first check run in a kernel compares with ``python -I`` (isolated
   mode: no PYTHONPATH, no user site, none of the student's state) that imports the same modules
   and returns a *fingerprint* of every watched name: kind, defining module, qualified name, source
   file, first line and a hash of the byte code. A replaced name fingerprints differently. In the
   grading sandbox the grader has run that interpreter once for the whole run and bound its answer
   in read-only (``autograder/sandbox/pristine.py``); elsewhere the kernel starts it itself.
2. **An identity snapshot.** Once the fingerprints agree, the guard records the objects
   themselves; every later verification (before *and after* each check, since the student's
   function runs inside the check) is a cheap ``is`` comparison, which also catches a student
   function that patches something while it is being graded.
3. **Protected exports.** ``autograder.checks`` serves its ``check_*`` names from a private table
   and records any attempt to reassign them (see ``autograder/checks/__init__.py``).

A modified environment fails the check *closed* (no points) with a message containing
``TAMPER_MARKER``, which ``autograder.integrity`` flags for a human.

What this cannot stop: code that replaces ``sys.modules['autograder.checks']`` or
``builtins.__import__`` before the hidden cell runs never lets our code run at all. The static
scan in ``autograder.integrity`` flags every such submission instead.
"""
import hashlib
import importlib
import json
import sys
import types
from pathlib import Path

# Modules whose whole namespace is watched.
WATCHED_MODULES = (
    "numpy",
    "numpy.linalg",
    "numpy.random",
    "numpy.testing",
    "scipy.special",
    "scipy.stats",
    "sklearn.cluster",
    "sklearn.mixture",
    "autograder.course",
    "autograder.lab",
    "autograder.reference",
    "autograder.checks._pristine",
    "autograder.checks._feedback",
    "autograder.checks._stats",
    "autograder.checks._shapes",
    "autograder.checks._guard",
    "autograder.sandbox.pristine",
    "autograder.checks.sampling",
    "autograder.checks.kmeans",
    "autograder.checks.em",
    "autograder.checks.library",
)
# Built-in names the checks (or the libraries they call) rely on. IPython legitimately replaces a
# few others (``input``, ``display``, ...), so the built-ins are watched by name, not wholesale.
WATCHED_BUILTINS = (
    "AssertionError", "BaseException", "Exception", "ValueError", "TypeError", "IndexError",
    "KeyError", "ZeroDivisionError", "NotImplementedError", "RuntimeError", "RecursionError",
    "print", "isinstance", "issubclass", "len", "range", "sum", "min", "max", "abs", "round",
    "type", "getattr", "setattr", "hasattr", "callable", "int", "float", "bool", "str", "tuple",
    "list", "dict", "set", "frozenset", "zip", "enumerate", "sorted", "reversed", "repr", "iter",
    "next", "any", "all", "map", "filter", "object", "super", "id", "hash", "__import__",
    "__build_class__", "open", "vars",
)
# Classes whose methods (through their whole class hierarchy) are watched too: classes are
# mutable, so ``KMeans.score = ...`` changes no module attribute.
WATCHED_CLASSES = (("sklearn.cluster", "KMeans"), ("sklearn.mixture", "GaussianMixture"))

COURSE_ROOT = Path(__file__).resolve().parent.parent.parent
UNVERIFIED = "could not be verified"  # reported when the pristine reference itself cannot be obtained
_MISSING = object()


# --------------------------------------------------------------------------- fingerprints
def _code_fingerprint(code):
    return [code.co_filename, code.co_firstlineno, hashlib.sha1(code.co_code).hexdigest()[:16]]


def _class_methods(cls):
    """Fingerprints of the functions a heap class defines itself (name -> fingerprint)."""
    methods = {}
    for name, value in sorted(vars(cls).items()):
        target = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        if isinstance(value, property):
            target = value.fget
        if isinstance(target, types.FunctionType):
            methods[name] = _code_fingerprint(target.__code__)
    return methods


def fingerprint(value):
    """A JSON-able description of ``value`` that differs when the object behind a name was replaced."""
    if isinstance(value, types.ModuleType):
        return ["module", value.__name__]
    if isinstance(value, types.FunctionType):
        return ["function", value.__module__, value.__qualname__, *_code_fingerprint(value.__code__)]
    if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)):
        return ["builtin", getattr(value, "__module__", None), value.__qualname__]
    if isinstance(value, type):
        static = not (value.__flags__ & (1 << 9))
        return ["class", value.__module__, value.__qualname__, static, {} if static else _class_methods(value)]
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return ["value", type(value).__name__, repr(value)]
    described = ["object", type(value).__module__, type(value).__qualname__]
    for attribute in ("__name__", "__qualname__"):
        name = getattr(value, attribute, None)
        if isinstance(name, str):
            described.append(name)
    # numpy's array-function dispatchers and functools wrappers hide the real Python function.
    for attribute in ("_implementation", "__wrapped__", "func"):
        inner = getattr(value, attribute, None)
        if isinstance(inner, types.FunctionType):
            described.append(_code_fingerprint(inner.__code__))
    return described


def namespace_items(module_name):
    """(name, value) pairs watched for one module ("builtins" means the watched built-ins)."""
    if module_name == "builtins":
        import builtins

        return [(name, getattr(builtins, name, _MISSING)) for name in WATCHED_BUILTINS]
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    return list(vars(module).items())


def class_items():
    """(label, class) pairs for every class in the hierarchy of each watched class."""
    items = []
    for module_name, class_name in WATCHED_CLASSES:
        cls = getattr(sys.modules.get(module_name) or importlib.import_module(module_name), class_name, None)
        for base in getattr(cls, "__mro__", ()):
            if base.__flags__ & (1 << 9):  # heap (Python-defined) classes only: C classes are immutable
                items.append((f"{module_name}.{class_name}>{base.__module__}.{base.__qualname__}", base))
    return items


def environment_fingerprints():
    """Fingerprint every watched name in *this* interpreter: {"module.name": fingerprint}."""
    prints = {}
    for module_name in ("builtins", *WATCHED_MODULES):
        for name, value in namespace_items(module_name):
            if value is not _MISSING and not (name.startswith("__") and name.endswith("__") and module_name != "builtins"):
                prints[f"{module_name}.{name}"] = fingerprint(value)
    for label, cls in class_items():
        prints[f"class:{label}"] = _class_methods(cls)
    return json.loads(json.dumps(prints))  # normalise tuples/lists as the subprocess's JSON does


def fresh_fingerprints(timeout=120):
    """The pristine reference: bound in read-only by the grader, else from a new ``python -I`` (isolated)."""
    from autograder.sandbox import pristine

    trusted = pristine.read_trusted(sys.prefix, COURSE_ROOT)
    if trusted is not None:
        return trusted
    return pristine.compute(sys.executable, COURSE_ROOT, timeout=timeout)["fingerprints"]


# --------------------------------------------------------------------------- state
class _State:
    """What the guard has learnt in this process (held in one object, watched like the rest)."""

    def __init__(self):
        self.snapshot = None  # {(module, name): object} once verified against a fresh interpreter
        self.class_snapshot = None
        self.recorded = []  # tampering noticed as it happened (e.g. reassigned exports)
        self.invariants = []  # callables returning a list of problems (registered by autograder.checks)


_state = _State()


def record_tampering(description):
    """Note a tampering attempt seen as it happened; every later check fails closed."""
    _state.recorded.append(description)


def add_invariant(check):
    """Register ``check() -> [problem, ...]``, evaluated on every verification."""
    _state.invariants.append(check)


def _differences_from(reference):
    """Names whose current fingerprint differs from ``reference`` (missing names count)."""
    current = environment_fingerprints()
    changed = []
    for key, expected in reference.items():
        now = current.get(key)
        if now == expected:
            continue
        if key.startswith("class:"):
            owner = key[len("class:"):].split(">")[0]
            methods = set(expected) | set(now or {})
            changed.extend(f"{owner}.{m}" for m in sorted(methods) if (now or {}).get(m) != expected.get(m))
        else:
            changed.append(key)
    return sorted(set(changed))


def _take_snapshot():
    snapshot = {}
    for module_name in ("builtins", *WATCHED_MODULES):
        for name, value in namespace_items(module_name):
            # Module dunders (__warningregistry__, __spec__, ...) are the import system's business.
            if module_name == "builtins" or not (name.startswith("__") and name.endswith("__")):
                snapshot[(module_name, name)] = value
    _state.snapshot = snapshot
    _state.class_snapshot = {label: dict(vars(cls)) for label, cls in class_items()}


def _differences_from_snapshot():
    changed = []
    for (module_name, name), value in _state.snapshot.items():
        if module_name == "builtins":
            import builtins

            current = getattr(builtins, name, _MISSING)
        else:
            module = sys.modules.get(module_name)
            current = _MISSING if module is None else vars(module).get(name, _MISSING)
        if current is not value:
            changed.append(f"{module_name}.{name}")
    for label, cls in class_items():
        before = _state.class_snapshot.get(label)
        now = vars(cls)
        before = before or {}
        owner = label.split(">")[0]
        changed.extend(f"{owner}.{k}" for k in set(now) | set(before) if now.get(k, _MISSING) is not before.get(k, _MISSING))
    return sorted(set(changed))


def problems():
    """Everything that differs from a pristine interpreter; ``[]`` when the environment is intact.

    The first call in a process asks a fresh interpreter; later calls compare object identities
    with the snapshot taken then.
    """
    found = list(_state.recorded)
    for invariant in _state.invariants:
        found.extend(invariant())
    if _state.snapshot is None:
        try:
            changed = _differences_from(fresh_fingerprints())
        except Exception as exc:  # cannot verify: fail closed, say why
            return found + [f"{UNVERIFIED} ({type(exc).__name__}: {exc})"]
        if changed:
            return found + changed
        _take_snapshot()
        return found
    return found + _differences_from_snapshot()
