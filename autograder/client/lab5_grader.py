"""lab5_grader: the grading kernel's side of the course's hidden checks.

A hidden-test cell says ``lab5_grader.check("e_step_values", e_step)``. The check runs in the
*verifier*, a process outside the sandbox that holds the checks and the reference answers. This
module only connects to it (the unix socket named by ``$LAB5_GRADER_SOCKET``), answers its
requests -- call this function with these inputs, send this value, read these attributes -- and
raises the verifier's message as an ``AssertionError`` when the check failed. It holds no check,
no expected value and no secret, and what it sends back decides nothing by itself: the verifier
compares, and its own record decides the points.

It is also the one definition of the wire format, which the verifier imports:

* a message is a JSON header (4-byte big-endian length first) followed by ``header["blobs"]``
  binary blobs (8-byte length each);
* values travel as JSON trees: ``None``, booleans, ints, finite floats and strings as themselves;
  ``{"$array": i}`` for blob ``i`` in ``.npy`` format (numeric and boolean dtypes only, never
  pickled; ``"layout": "strided"`` asks for a non-contiguous view), ``{"$scalar": i}`` for a numpy
  scalar, ``{"$list": [...]}``, ``{"$tuple": [...]}``, ``{"$dict": [[key, value], ...]}``,
  ``{"$float": "nan"}``, ``{"$rng": seed}`` (verifier to kernel only: a ``numpy`` Generator) and
  ``{"$opaque": {"type": ..., "repr": ...}}`` for anything else, described but never sent;
* every message is bounded (:data:`LIMITS`); a reader refuses anything larger or malformed.

Standard library and numpy only: it runs inside the student's kernel.
"""
import contextlib
import io
import json
import math
import os
import random
import socket
import struct
import time
import traceback
import warnings

import numpy as np

SOCKET_ENV = "LAB5_GRADER_SOCKET"
PROTOCOL = 1

# Bounds on one message, in either direction (the verifier enforces them on what it reads).
LIMITS = {
    "header_bytes": 1 << 20,  # the JSON part
    "blobs": 64,
    "blob_bytes": 64 << 20,  # one array (a 64 MB array is far beyond anything the lab returns)
    "message_bytes": 128 << 20,
    "depth": 16,  # nesting of lists/tuples/dicts
    "items": 100_000,  # JSON nodes in one value
    "text": 10_000,  # characters of one string
}
ARRAY_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex: plain numbers only


class WireError(ValueError):
    """A message that breaks the format or its limits (nothing of it is used)."""


class SeededGenerator:
    """Verifier side: stands for ``numpy.random.default_rng(seed)``, made in the kernel."""

    def __init__(self, seed):
        self.seed = int(seed)


class Opaque:
    """A value that was described instead of sent (an object, a function, a huge list ...)."""

    def __init__(self, type_name, text):
        self.type_name = str(type_name)[:200]
        self.text = str(text)[:300]

    def __repr__(self):
        return self.text


# ---- framing ----------------------------------------------------------------------------------
def _read_exactly(sock, size, deadline):
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete message in time")
            sock.settimeout(left)
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def send_message(sock, header, blobs=()):
    """Write one message: the JSON header, then its blobs."""
    header = dict(header, blobs=len(blobs))
    data = json.dumps(header, allow_nan=False).encode()
    parts = [struct.pack(">I", len(data)), data]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    sock.sendall(b"".join(parts))


def receive_message(sock, deadline=None, limits=LIMITS):
    """Read one message within ``limits`` (and by ``deadline``, a ``time.monotonic()`` value)."""
    (size,) = struct.unpack(">I", _read_exactly(sock, 4, deadline))
    if size > limits["header_bytes"]:
        raise WireError(f"header of {size} bytes (limit {limits['header_bytes']})")
    try:
        header = json.loads(_read_exactly(sock, size, deadline).decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"header is not JSON ({exc})") from None
    if not isinstance(header, dict) or not isinstance(header.get("op"), str):
        raise WireError("header is not an object with an 'op'")
    count = header.get("blobs", 0)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= limits["blobs"]:
        raise WireError(f"{count!r} blobs (limit {limits['blobs']})")
    blobs, total = [], size
    for _ in range(count):
        (length,) = struct.unpack(">Q", _read_exactly(sock, 8, deadline))
        total += length
        if length > limits["blob_bytes"] or total > limits["message_bytes"]:
            raise WireError(f"a blob of {length} bytes (limits: {limits['blob_bytes']} per blob, "
                            f"{limits['message_bytes']} per message)")
        blobs.append(_read_exactly(sock, length, deadline))
    return header, blobs


# ---- values -----------------------------------------------------------------------------------
def type_name(value):
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    return f"{module}.{cls.__qualname__}" if module not in ("builtins", "") else cls.__qualname__


def _safe_repr(value):
    try:
        text = repr(value)
    except Exception:
        text = f"<{type_name(value)} object>"
    return " ".join(str(text).split())[:200]


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def encode(value, blobs, limits=LIMITS):
    """``value`` as a JSON tree; arrays are appended to ``blobs``. Never raises for odd values."""
    budget = [limits["items"]]

    def walk(item, depth):
        budget[0] -= 1
        if budget[0] < 0 or depth > limits["depth"]:
            return {"$opaque": {"type": type_name(item), "repr": "(too large or too deeply nested to send)"}}
        if item is None or isinstance(item, (bool, str)):
            if isinstance(item, str) and len(item) > limits["text"]:
                return item[: limits["text"]] + " ..."
            return item
        if type(item) is int:
            return item if abs(item) < 2**63 else {"$opaque": {"type": "int", "repr": f"an int of {len(str(item))} digits"}}
        if type(item) is float:
            return item if math.isfinite(item) else {"$float": repr(item)}
        if isinstance(item, np.ndarray):
            return encode_array(item, blobs, limits)
        if isinstance(item, SeededGenerator):
            return {"$rng": item.seed}
        if isinstance(item, np.generic) and item.dtype.kind in ARRAY_KINDS:
            blobs.append(_npy(np.asarray(item)))
            return {"$scalar": len(blobs) - 1}
        if isinstance(item, (list, tuple)):
            key = "$list" if isinstance(item, list) else "$tuple"
            return {key: [walk(element, depth + 1) for element in item]}
        if isinstance(item, dict) and all(isinstance(k, str) for k in item):
            return {"$dict": [[k, walk(v, depth + 1)] for k, v in item.items()]}
        return {"$opaque": {"type": type_name(item), "repr": _safe_repr(item)}}

    return walk(value, 0)


def encode_array(array, blobs, limits=LIMITS):
    """An array node: numbers go as ``.npy`` bytes; other dtypes and huge arrays are only described."""
    described = f"array of shape {array.shape}, dtype {array.dtype}"
    if array.dtype.kind not in ARRAY_KINDS or array.dtype.fields is not None:
        return {"$opaque": {"type": "numpy.ndarray", "repr": described}}
    if array.nbytes > limits["blob_bytes"] - 4096 or len(blobs) >= limits["blobs"]:
        return {"$opaque": {"type": "numpy.ndarray", "repr": described + " (too large to send)"}}
    blobs.append(_npy(array))
    node = {"$array": len(blobs) - 1}
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        node["layout"] = "strided"
    return node


def read_npy(blob):
    """A numeric array from ``.npy`` bytes, checked before any of it is interpreted (no pickle)."""
    stream = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise WireError(f"unsupported .npy version {version}")
    except WireError:
        raise
    except Exception as exc:  # numpy raises ValueError (or others) on a damaged header
        raise WireError(f"not an .npy array ({exc})") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.hasobject or dtype.subdtype is not None:
        raise WireError(f"dtype {dtype} is not a plain numeric dtype")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise WireError(f"bad shape {shape!r}")
    data = blob[stream.tell():]
    if math.prod(shape) * dtype.itemsize != len(data):
        raise WireError(f"{len(data)} bytes of data for shape {shape} and dtype {dtype}")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C").copy()


def _strided(array):
    """A non-contiguous view with the same values (every other row of a doubled array)."""
    if array.ndim == 0 or array.shape[0] == 0:
        return array
    return np.repeat(array, 2, axis=0)[::2]


def decode(tree, blobs, limits=LIMITS, allow_rng=False):
    """The value a JSON tree stands for; ``WireError`` for anything outside the format."""
    budget = [limits["items"]]

    def blob(index):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(blobs):
            raise WireError(f"no blob {index!r}")
        return read_npy(blobs[index])

    def walk(node, depth):
        budget[0] -= 1
        if budget[0] < 0 or depth > limits["depth"]:
            raise WireError("value too large or too deeply nested")
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            if len(node) > limits["text"] + 4:
                raise WireError("string too long")
            return node
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise WireError(f"unexpected node {str(node)[:60]!r}")
        if "$array" in node:
            array = blob(node["$array"])
            if node.get("layout") == "strided":
                array = _strided(array)
            return array
        if len(node) != 1:
            raise WireError(f"unexpected node keys {sorted(node)!r}")
        (key, body), = node.items()
        if key == "$scalar":
            array = blob(body)
            if array.shape != ():
                raise WireError("a scalar blob holds an array")
            return array[()]
        if key in ("$list", "$tuple"):
            if not isinstance(body, list):
                raise WireError(f"{key} is not a list")
            items = [walk(element, depth + 1) for element in body]
            return items if key == "$list" else tuple(items)
        if key == "$dict":
            if not isinstance(body, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in body):
                raise WireError("$dict is not a list of [key, value] pairs")
            return {k: walk(v, depth + 1) for k, v in body}
        if key == "$float":
            if body not in ("nan", "inf", "-inf"):
                raise WireError(f"bad $float {body!r}")
            return float(body)
        if key == "$opaque":
            if not isinstance(body, dict):
                raise WireError("bad $opaque")
            return Opaque(body.get("type", "?"), body.get("repr", "?"))
        if key == "$rng" and allow_rng:
            return np.random.default_rng(body)
        raise WireError(f"unknown node {key!r}")

    return walk(tree, 0)


# ---- calling the student's code -----------------------------------------------------------------
@contextlib.contextmanager
def quiet():
    """Silence prints, warnings and floating-point reports while the student's code runs.

    nbgrader scores a test cell that wrote to stderr as failed: a debugging print or a library
    warning inside the student's function must not cost the points of a correct answer.
    """
    sink = io.StringIO()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield


def _student_line(tb):
    """(line number, code) of the last traceback entry in the student's own code, or (None, None)."""
    here = os.path.abspath(__file__)
    for entry in reversed(traceback.extract_tb(tb)):
        name = entry.filename.replace("\\", "/")
        if os.path.abspath(entry.filename) == here or "/site-packages/" in name or "/lib/python3" in name:
            continue
        return entry.lineno, (entry.line or "").strip()[:200] or None
    return None, None


@contextlib.contextmanager
def _seeded_globals(seed):
    """Seed numpy's and Python's global generators for one call (a sampler may use either)."""
    if seed is None:
        yield
        return
    numpy_state, python_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _describe_argument(value):
    return {"callable": callable(value), "type": type_name(value)}


def serve(request, blobs, arguments):
    """The reply (header, blobs) to one verifier request about ``arguments`` (the check's arguments)."""
    op, target = request.get("op"), request.get("target")
    if not isinstance(target, int) or not 0 <= target < len(arguments):
        return {"op": "refused", "reason": f"no argument {target!r}"}, []
    subject = arguments[target]
    out = []
    if op == "get":
        return {"op": "value", "value": encode(subject, out)}, out
    if op == "attributes":
        values, missing = {}, []
        for name in request.get("names", []):
            try:
                values[name] = encode(getattr(subject, name), out)
            except Exception:  # a missing attribute, or a property that raised
                missing.append(name)
        return {"op": "attributes", "type": type_name(subject), "values": values, "missing": missing}, out
    if op == "call":
        args = decode(request.get("args", {"$list": []}), blobs, allow_rng=True)
        kwargs = decode(request.get("kwargs", {"$dict": []}), blobs, allow_rng=True)
        try:
            with quiet(), _seeded_globals(request.get("seed_globals")):
                result = subject(*args, **kwargs)
        except KeyboardInterrupt:  # the grader interrupting a cell that ran too long: let it through
            raise
        except BaseException as exc:  # the student's error (SystemExit too), reported in words
            line, code = _student_line(exc.__traceback__)
            return {"op": "raised", "type": type(exc).__name__, "message": str(exc)[:400],
                    "line": line, "code": code}, []
        return {"op": "returned", "value": encode(result, out)}, out
    return {"op": "refused", "reason": f"unknown request {op!r}"}, []


# ---- the hidden-test cell's call ----------------------------------------------------------------
class CheckFailed(AssertionError):
    """A failed check: its traceback, as IPython shows it, is the verifier's message alone."""

    def _render_traceback_(self):
        return [f"AssertionError: {self}"]


CheckFailed.__name__ = CheckFailed.__qualname__ = "AssertionError"  # what nbgrader records as the error name


class GradingUnavailable(RuntimeError):
    """No verifier to ask (outside grading, or the grader's connection failed)."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


def check(name, *arguments):
    """Ask the verifier to run the check ``name`` on ``arguments``; raise its message if it failed."""
    __tracebackhide__ = True
    path = os.environ.get(SOCKET_ENV)
    if not path:
        raise GradingUnavailable("hidden checks run only when the notebook is graded")
    failure = None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(path)
            send_message(connection, {"op": "check", "name": str(name), "protocol": PROTOCOL,
                                      "arguments": [_describe_argument(a) for a in arguments]})
            while True:
                connection.settimeout(None)
                request, blobs = receive_message(connection)
                if request["op"] == "verdict":
                    if not request.get("passed"):
                        failure = CheckFailed(str(request.get("message", "this check failed")))
                    break
                send_message(connection, *serve(request, blobs, arguments))
    except (OSError, WireError) as exc:
        raise GradingUnavailable(f"the grader could not run this check ({type(exc).__name__})") from None
    if failure is not None:
        raise failure  # outside the except blocks: no chained traceback


__all__ = ["check", "CheckFailed", "GradingUnavailable", "SOCKET_ENV"]
