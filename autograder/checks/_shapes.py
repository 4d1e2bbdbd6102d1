"""Turning a student's return value into an array of the expected kind, or a plain explanation.

Shape/type cells are strict (``require_*``). Value cells are lenient (``as_*``): a list, an
``(N, 1)`` column or float labels with whole values still get their values checked, so a type
mistake costs only the shape/type points.
"""
import numpy as np

from autograder.checks._feedback import fail, kind


def describe_shape_mistake(name, value, expected_shape):
    """A likely-mistake hint when ``value`` has the wrong shape (None when nothing is recognisable)."""
    shape = np.shape(value)
    if shape == tuple(reversed(expected_shape)) and len(expected_shape) == 2:
        return f"{name} looks transposed"
    if len(expected_shape) == 1 and shape in ((expected_shape[0], 1), (1, expected_shape[0])):
        return f"{name} is a column/row; flatten it (e.g. .ravel() or index with [:, 0])"
    if len(shape) == len(expected_shape) + 1 and shape[: len(expected_shape)] == tuple(expected_shape):
        return f"{name} has an extra dimension: did you return distances/scores instead of indices?"
    if shape == ():
        return f"{name} is a single value: a reduction over the wrong axis, or .squeeze() on one point?"
    if len(shape) == len(expected_shape):
        differing = [(got, want) for got, want in zip(shape, expected_shape) if got != want]
        if differing and all(got in (2, 3) for got, _ in differing):
            return f"a size of {differing[0][0]} where {differing[0][1]} was expected: is K or d hard-coded?"
    return None


def require_array(name, value, expected_shape, dtype_kind, what):
    """Fail unless ``value`` is an ndarray of ``expected_shape`` whose dtype is integer ("i") or floating ("f")."""
    if not isinstance(value, np.ndarray):
        fail(f"{what}: {name} should be a numpy array.", expected=f"array of shape {tuple(expected_shape)}",
             got=kind(value), hint="wrap the result in np.array(...)" if isinstance(value, (list, tuple)) else None)
    if value.shape != tuple(expected_shape):
        fail(f"{what}: {name} has shape {value.shape}, expected {tuple(expected_shape)}.",
             hint=describe_shape_mistake(name, value, expected_shape))
    if dtype_kind == "i" and not np.issubdtype(value.dtype, np.integer):
        whole = np.issubdtype(value.dtype, np.floating) and np.all(np.isfinite(value)) and np.all(value == np.round(value))
        fail(f"{what}: {name} should hold integer indices, got dtype {value.dtype}.",
             hint="the values are whole numbers stored as floats: cast with .astype(int)" if whole else None)
    if dtype_kind == "f" and not np.issubdtype(value.dtype, np.floating):
        fail(f"{what}: {name} should be floating point, got dtype {value.dtype}.",
             hint="integer arithmetic truncates: compute in float" if np.issubdtype(value.dtype, np.integer) else None)


def as_labels(name, value, n, what):
    """Lenient: a length-``n`` integer label vector from ``value`` (list, column, whole floats accepted)."""
    try:
        labels = np.asarray(value)
    except Exception:
        fail(f"{what}: {name} could not be turned into an array.", got=kind(value))
    if labels.shape in ((n, 1), (1, n)):
        labels = labels.reshape(n)
    if labels.shape != (n,):
        fail(f"{what}: {name} has shape {labels.shape}, expected ({n},).",
             hint=describe_shape_mistake(name, labels, (n,)))
    if labels.dtype == bool or not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        fail(f"{what}: {name} should hold integer indices.", got=f"dtype {labels.dtype}")
    if np.issubdtype(labels.dtype, np.floating):
        if not (np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))):
            fail(f"{what}: {name} should hold integer indices, got fractional values such as {labels[labels != np.round(labels)][:3]}.",
                 hint="labels must be indices, not distances or means")
    return labels.astype(np.int64)


def as_float_array(name, value, shape, what):
    """Lenient: a float array of ``shape`` from ``value`` (list or any numeric dtype accepted)."""
    try:
        array = np.asarray(value, dtype=float)
    except Exception:
        fail(f"{what}: {name} could not be turned into a numeric array.", got=kind(value))
    if array.shape != tuple(shape) and array.size == int(np.prod(shape)) and array.squeeze().shape == tuple(s for s in shape if s != 1):
        array = array.reshape(shape)
    if array.shape != tuple(shape):
        fail(f"{what}: {name} has shape {array.shape}, expected {tuple(shape)}.",
             hint=describe_shape_mistake(name, array, shape))
    return array


def input_copy(array):
    """A copy with the same dtype, memory order and strides pattern (non-contiguous stays non-contiguous).

    The student's function gets the copy, so one that modifies its input in place cannot change
    the data the verdict and the hints are computed from.
    """
    if array.flags.c_contiguous or array.flags.f_contiguous:
        return array.copy(order="K")
    doubled = np.repeat(np.ascontiguousarray(array), 2, axis=0)
    return doubled[::2]
