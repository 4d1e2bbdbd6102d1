"""Turning a student's return value into an array of the expected kind, or a plain explanation.

Shape/type cells are strict (``require_*``). Value cells are lenient (``as_*``): a list, an
``(N, 1)`` column or float labels with whole values still get their values checked, so a type
mistake costs only the shape/type points. Values arrive decoded from the kernel: arrays, lists,
tuples, numbers, or :class:`~lab5_grader.Opaque` descriptions of anything else.
"""
import numpy as np

from autograder.checks._feedback import Hint, fail, kind
from autograder.client.lab5_grader import Opaque


def describe_shape_mistake(name, value, expected_shape, part, indices=False):
    """A likely-mistake :class:`Hint` when ``value`` has the wrong shape (None when nothing is recognisable).

    ``indices``: the value should hold indices (labels), so an extra trailing dimension of the
    right size suggests distances or scores were returned instead.
    """
    shape = np.shape(value)
    expected_shape = tuple(expected_shape)
    if len(expected_shape) == 2 and shape == tuple(reversed(expected_shape)) and shape != expected_shape:
        return Hint(f"{part}.transposed", f"{name} looks transposed")
    if len(expected_shape) == 1 and shape in ((expected_shape[0], 1), (1, expected_shape[0])):
        return Hint(f"{part}.column_not_vector", f"{name} is a column/row; flatten it (e.g. .ravel() or index with [:, 0])")
    if indices and len(shape) == len(expected_shape) + 1 and shape[: len(expected_shape)] == expected_shape:
        return Hint(f"{part}.returned_distances", f"{name} has an extra dimension: did you return distances/scores instead of indices?")
    if shape == ():
        return Hint(f"{part}.single_value", f"{name} is a single value: a reduction over the wrong axis, or .squeeze() on one point?")
    if len(shape) == len(expected_shape):
        differing = [(got, want) for got, want in zip(shape, expected_shape) if got != want]
        if differing and all(got in (2, 3) for got, _ in differing):
            return Hint(f"{part}.hard_coded_size", f"a size of {differing[0][0]} where {differing[0][1]} was expected: is K or d hard-coded?")
    return None


def require_array(name, value, expected_shape, dtype_kind, what, part):
    """Fail unless ``value`` is an ndarray of ``expected_shape`` whose dtype is integer ("i") or floating ("f")."""
    if not isinstance(value, np.ndarray):
        fail(f"{what}: {name} should be a numpy array.", expected=f"array of shape {tuple(expected_shape)}", got=kind(value),
             hint=Hint(f"{part}.returned_list", "wrap the result in np.array(...)") if isinstance(value, (list, tuple)) else None,
             diagnosis=f"{part}.not_an_array")
    if value.shape != tuple(expected_shape):
        fail(f"{what}: {name} has shape {value.shape}, expected {tuple(expected_shape)}.",
             hint=describe_shape_mistake(name, value, expected_shape, part, indices=dtype_kind == "i"),
             diagnosis=f"{part}.wrong_shape")
    if dtype_kind == "i" and not np.issubdtype(value.dtype, np.integer):
        whole = np.issubdtype(value.dtype, np.floating) and np.all(np.isfinite(value)) and np.all(value == np.round(value))
        fail(f"{what}: {name} should hold integer indices, got dtype {value.dtype}.",
             hint=Hint(f"{part}.float_labels", "the values are whole numbers stored as floats: cast with .astype(int)") if whole else None,
             diagnosis=f"{part}.not_integers")
    if dtype_kind == "f" and not np.issubdtype(value.dtype, np.floating):
        fail(f"{what}: {name} should be floating point, got dtype {value.dtype}.",
             hint=Hint(f"{part}.integer_arithmetic", "integer arithmetic truncates: compute in float")
             if np.issubdtype(value.dtype, np.integer) else None,
             diagnosis=f"{part}.not_floats")


def _as_numeric(name, value, what, part):
    """``np.asarray(value)`` for values that are numbers (or lists of them); fail for anything else."""
    if isinstance(value, Opaque) or (isinstance(value, (list, tuple)) and any(isinstance(v, Opaque) for v in value)):
        fail(f"{what}: {name} should be a numeric array.", got=kind(value), diagnosis=f"{part}.not_an_array")
    try:
        array = np.asarray(value)
    except Exception:
        fail(f"{what}: {name} could not be turned into an array.", got=kind(value), diagnosis=f"{part}.not_an_array")
    if array.dtype == object:
        fail(f"{what}: {name} could not be turned into a numeric array (are the rows of different lengths?).",
             got=kind(value), diagnosis=f"{part}.not_an_array")
    return array


def as_labels(name, value, n, what, part):
    """Lenient: a length-``n`` integer label vector from ``value`` (list, column, whole floats accepted)."""
    labels = _as_numeric(name, value, what, part)
    if labels.shape in ((n, 1), (1, n)):
        labels = labels.reshape(n)
    if labels.shape != (n,):
        fail(f"{what}: {name} has shape {labels.shape}, expected ({n},).",
             hint=describe_shape_mistake(name, labels, (n,), part, indices=True), diagnosis=f"{part}.wrong_shape")
    if labels.dtype == bool or not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        fail(f"{what}: {name} should hold integer indices.", got=f"dtype {labels.dtype}", diagnosis=f"{part}.not_integers")
    if np.issubdtype(labels.dtype, np.floating):
        if not (np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))):
            fail(f"{what}: {name} should hold integer indices, got fractional values such as {labels[labels != np.round(labels)][:3]}.",
                 hint=Hint(f"{part}.fractional_labels", "labels must be indices, not distances or means"))
    return labels.astype(np.int64)


def as_float_array(name, value, shape, what, part):
    """Lenient: a float array of ``shape`` from ``value`` (list or any numeric dtype accepted)."""
    array = _as_numeric(name, value, what, part)
    if array.dtype.kind == "c":
        fail(f"{what}: {name} holds complex numbers.", got=kind(array), diagnosis=f"{part}.complex_values")
    array = array.astype(float)
    if array.shape != tuple(shape) and array.size == int(np.prod(shape)) and array.squeeze().shape == tuple(s for s in shape if s != 1):
        array = array.reshape(shape)
    if array.shape != tuple(shape):
        fail(f"{what}: {name} has shape {array.shape}, expected {tuple(shape)}.",
             hint=describe_shape_mistake(name, array, shape, part), diagnosis=f"{part}.wrong_shape")
    return array
