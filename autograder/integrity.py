"""Integrity report: does a submission reach for the grading machinery? (for a human to look at)

``scan_notebook(nb)`` returns a list of ``Finding``s, each with a plain-language reason, from
reading the code the student could write (solution cells and any cell without an nbgrader test
role): importing the grading package or the grading client, replacing attributes of numpy /
scipy / scikit-learn / the built-ins, rebinding ``print`` or ``AssertionError``, import
machinery, frame and code-object introspection, ending the kernel, IPython hooks, ``exec``.

It is advisory only. No score depends on it: the kernel holds no check and no reference, and
the verifier's record decides every autograded point, so none of these can earn a point. It
says what a notebook *tried*, so that a person can look (the submission is ``flagged`` and
``status_detail`` says why). ``import inspect`` to read a docstring is harmless.
Command line: ``python -m autograder.integrity NOTEBOOK...`` prints a report, exit status 1 when
anything was found.
"""
import ast
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional


# Modules whose attributes the checks (or the libraries they call) rely on.
PROTECTED_MODULES = ("numpy", "scipy", "sklearn", "builtins", "sys", "autograder", "random", "math", "importlib", "warnings")
# Built-in names whose rebinding points at an attempt to fool a test cell.
SENSITIVE_BUILTINS = {"AssertionError", "print", "isinstance", "__import__", "getattr", "setattr", "exec", "eval",
                      "BaseException", "Exception", "type", "object", "len", "all", "any"}
FRAME_ATTRIBUTES = {"__code__", "__globals__", "__closure__", "__builtins__", "f_locals", "f_globals", "f_back",
                    "tb_frame", "__subclasses__", "__setattr__", "__getattribute__", "__dict__", "__class__", "co_code"}
CALLS = {
    "exec": ("dynamic-code", "runs dynamically built code (exec), which this scan cannot read"),
    "eval": ("dynamic-code", "evaluates dynamically built code (eval), which this scan cannot read"),
    "compile": ("dynamic-code", "compiles code at run time (compile), which this scan cannot read"),
    "__import__": ("import-machinery", "imports through __import__ directly"),
    "setattr": ("patches-library", "sets an attribute by name (setattr) on {target}"),
    "delattr": ("patches-library", "deletes an attribute by name (delattr) from {target}"),
    "globals": ("introspection", "reads or writes the namespace dictionary (globals())"),
    "vars": ("introspection", "reads or writes a namespace dictionary (vars())"),
}
DOTTED_CALLS = {
    "sys._getframe": ("introspection", "reads the interpreter's call frames (sys._getframe)"),
    "sys.settrace": ("introspection", "installs a tracer that sees every line the grader runs (sys.settrace)"),
    "sys.setprofile": ("introspection", "installs a profiler hook that sees every call the grader makes (sys.setprofile)"),
    "os._exit": ("kernel-exit", "ends the kernel immediately (os._exit): the whole submission then fails like a crash"),
    "os.kill": ("kernel-exit", "sends a signal to a process (os.kill)"),
    "sys.exit": ("kernel-exit", "tries to end the kernel (sys.exit)"),
    "os.fork": ("kernel-exit", "forks the kernel process (os.fork)"),
    "gc.get_referrers": ("introspection", "searches the interpreter's objects (gc.get_referrers)"),
    "gc.get_objects": ("introspection", "searches the interpreter's objects (gc.get_objects)"),
}
MODULE_IMPORTS = {
    "autograder": ("grading-package", "imports the instructor-only grading package `autograder`"),
    "lab5_grader": ("grading-client", "imports the grading client `lab5_grader` (only the hidden tests talk to the grader)"),
    "lab5_widgets.common": ("widget-internals", "imports the widgets' own fallback code (it is no substitute for the graded functions)"),
    "builtins": ("patches-builtins", "imports the `builtins` module, through which built-in names can be replaced"),
    "importlib": ("import-machinery", "uses the import machinery (importlib)"),
    "inspect": ("introspection", "imports `inspect` (can read frames and source of the grading code)"),
    "gc": ("introspection", "imports `gc` (can reach any object in the kernel)"),
    "ctypes": ("introspection", "imports `ctypes` (can rewrite interpreter memory)"),
    "signal": ("kernel-exit", "imports `signal` (can ignore the grader's interrupt and hang the submission)"),
    "atexit": ("kernel-exit", "imports `atexit` (runs code when the kernel shuts down)"),
    "subprocess": ("kernel-exit", "imports `subprocess` (runs other programs from the kernel)"),
    "multiprocessing": ("kernel-exit", "imports `multiprocessing` (starts processes outside the grader's control)"),
    "unittest.mock": ("patches-library", "imports `unittest.mock` (replaces functions at run time)"),
}
# Pieces of paths that only the grading setup has any business with.
GRADING_FILES = ("gradebook", "nbgrader_config", "autograded/", "submitted/", "source/lab5", "release/lab5")
HARMLESS_MAGICS = {"matplotlib", "time", "timeit", "config", "load_ext", "autoreload", "pylab", "pip", "who", "whos", "precision"}


@dataclass(frozen=True)
class Finding:
    """One thing in a notebook a person should look at."""

    cell: int  # index of the cell in the notebook
    grade_id: Optional[str]
    line: Optional[int]  # line within the cell, when known
    kind: str  # e.g. "patches-library", "grading-package", "grading-client"
    reason: str  # plain language
    code: str = ""  # the line concerned

    def describe(self):
        where = f"cell {self.cell}" + (f" ({self.grade_id})" if self.grade_id else "") + (f", line {self.line}" if self.line else "")
        return f"{where}: {self.reason}" + (f"\n    {self.code}" if self.code else "")

    @property
    def message(self):
        """One line for reports: where, why, and the code concerned."""
        return self.describe().replace("\n    ", ": ")

    def __str__(self):
        return self.message


# --------------------------------------------------------------------------- static scan
def _dotted(node):
    """'np.random.seed' for an Attribute chain on a Name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    """Collects (line, kind, reason) for one cell; ``aliases`` maps local names to the modules they stand for."""

    def __init__(self, aliases):
        self.aliases = aliases
        self.found = []

    def add(self, node, kind, reason):
        self.found.append((getattr(node, "lineno", None), kind, reason))

    def resolve(self, dotted):
        """'np.allclose' -> 'numpy.allclose' using the notebook's imports."""
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head, head)
        return f"{base}.{rest}" if rest else base

    def protected(self, dotted):
        resolved = self.resolve(dotted)
        root = resolved.split(".")[0]
        return resolved if root in PROTECTED_MODULES and (dotted.split(".")[0] in self.aliases or root == dotted.split(".")[0]) else None

    # imports ------------------------------------------------------------
    def _check_module(self, node, module):
        for name, (kind, reason) in MODULE_IMPORTS.items():
            if module == name or module.startswith(name + "."):
                self.add(node, kind, reason)

    def visit_Import(self, node):
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self._check_module(node, module)
        if module in ("builtins", "sys") or module.startswith("autograder"):
            return
        if any(alias.name in ("_getframe", "modules", "meta_path", "path_hooks") for alias in node.names) and module == "sys":
            self.add(node, "import-machinery", "imports interpreter internals from sys")

    # assignments ----------------------------------------------------------
    def _check_target(self, node, target):
        if isinstance(target, ast.Attribute):
            dotted = _dotted(target)
            if target.attr in FRAME_ATTRIBUTES:
                self.add(node, "introspection", f"assigns `{target.attr}`, rewiring objects the grader may use")
            elif dotted and self.protected(dotted.rsplit(".", 1)[0]):
                resolved = self.resolve(dotted)
                if resolved in ("sys.stdout", "sys.stderr"):
                    self.add(node, "patches-library", f"replaces `{resolved}`, which hides or fakes test output")
                else:
                    self.add(node, "patches-library", f"replaces `{resolved}`, which the grading checks rely on")
            elif dotted and dotted.split(".")[0] in self.aliases and self.aliases[dotted.split(".")[0]].split(".")[0] in PROTECTED_MODULES:
                self.add(node, "patches-library", f"changes `{self.resolve(dotted)}` (an attribute of a library class or object)")
        elif isinstance(target, ast.Name) and target.id in SENSITIVE_BUILTINS:
            self.add(node, "rebinds-builtin", f"rebinds the built-in name `{target.id}` in the notebook")
        elif isinstance(target, ast.Subscript):
            dotted = _dotted(target.value)
            if dotted and (dotted.endswith("__dict__") or self.resolve(dotted) in ("sys.modules",)):
                self.add(node, "patches-library", f"writes into `{self.resolve(dotted)}`, replacing what other code imports")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(node, element)

    def visit_Assign(self, node):
        for target in node.targets:
            self._check_target(node, target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_target(node, node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_target(node, node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._check_target(node, target)

    def visit_FunctionDef(self, node):
        if node.name in SENSITIVE_BUILTINS:
            self.add(node, "rebinds-builtin", f"defines a function called `{node.name}`, hiding the built-in")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if node.name in SENSITIVE_BUILTINS:
            self.add(node, "rebinds-builtin", f"defines a class called `{node.name}`, hiding the built-in")
        self.generic_visit(node)

    # names, attributes and calls --------------------------------------------
    def visit_Name(self, node):
        if node.id == "__builtins__":
            self.add(node, "patches-builtins", "uses `__builtins__`, through which built-in names can be replaced")
        elif node.id == "autograder":
            self.add(node, "grading-package", "refers to the instructor-only grading package `autograder`")
        elif node.id == "lab5_grader":
            self.add(node, "grading-client", "refers to the grading client `lab5_grader`")

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        if node.attr in ("__code__", "__globals__", "__closure__", "f_locals", "f_globals", "f_back", "tb_frame", "__subclasses__", "co_code"):
            self.add(node, "introspection", f"reads `{node.attr}`, reaching into code objects or frames")
        elif dotted and self.resolve(dotted) in ("sys.modules", "sys.meta_path", "sys.path_hooks", "sys.excepthook"):
            self.add(node, "import-machinery", f"uses `{self.resolve(dotted)}`, which decides what gets imported or shown")
        self.generic_visit(node)

    def visit_Call(self, node):
        function = node.func
        if isinstance(function, ast.Name) and function.id in CALLS and function.id not in self.aliases:
            kind, reason = CALLS[function.id]
            target = _dotted(node.args[0]) if node.args else None
            if function.id in ("setattr", "delattr"):
                if target and (self.protected(target) or target in self.aliases):
                    self.add(node, kind, reason.format(target=f"`{self.resolve(target)}`"))
            elif function.id in ("globals", "vars"):
                pass  # reading a namespace is common and harmless; writing through it shows up as a Subscript
            else:
                self.add(node, kind, reason)
        dotted = _dotted(function)
        if dotted and self.resolve(dotted) in DOTTED_CALLS:
            self.add(node, *DOTTED_CALLS[self.resolve(dotted)])
        if isinstance(function, ast.Attribute) and _calls_get_ipython(function):
            if function.attr in ("run_line_magic", "run_cell_magic"):
                magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "?"
                if magic not in HARMLESS_MAGICS:
                    self.add(node, "ipython-hooks", f"runs the IPython magic `%{magic}`")
            elif function.attr != "system":  # `!pip list` and friends
                self.add(node, "ipython-hooks", f"uses the IPython shell that runs the tests (get_ipython().{function.attr})")
            self.visit(function.value.func if isinstance(function.value, ast.Call) else function.value)
            for argument in [*node.args, *node.keywords]:
                self.visit(argument)
            return
        if isinstance(function, ast.Name) and function.id == "get_ipython":
            self.add(node, "ipython-hooks", "obtains the IPython shell that runs the tests (get_ipython())")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and ("autograder" in node.value or "lab5_grader" in node.value):
            self.add(node, "grading-package", "mentions the instructor-only grading package `autograder` in a string")
        elif isinstance(node.value, str) and any(marker in node.value for marker in GRADING_FILES):
            self.add(node, "grading-files", "names a file of the grading setup (gradebook, nbgrader configuration, "
                                            "other submissions or the instructor's notebook)")


def _calls_get_ipython(node):
    """True for ``get_ipython().attr`` (directly on the call)."""
    return isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and node.value.func.id == "get_ipython"


def _python_source(source):
    """Cell source with IPython syntax (magics, !commands) turned into Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        transformed = TransformerManager().transform_cell(source)
    except Exception:
        return source
    # IPython drops leading blank lines; put them back so line numbers match the cell.
    leading = len(source) - len(source.lstrip("\n"))
    return "\n" * leading + transformed.lstrip("\n") if leading else transformed


def _collect_aliases(trees):
    """Names the notebook binds to modules or library objects: {'np': 'numpy', 'KMeans': 'sklearn.cluster.KMeans'}."""
    aliases = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def scan_source(source, aliases=None):
    """Static findings for one piece of code: ``[(line, kind, reason, code)]``."""
    text = _python_source(source)
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        return [(error.lineno, "unreadable", "this cell is not valid Python, so it could not be checked", "")]
    scanner = _Scanner(aliases if aliases is not None else _collect_aliases([tree]))
    scanner.visit(tree)
    lines = source.splitlines()
    unique = sorted(set(scanner.found), key=lambda f: (f[0] or 0, f[1], f[2]))
    return [(line, kind, reason, lines[line - 1].strip() if line and line <= len(lines) else "") for line, kind, reason in unique]


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell):
    """An autograded test cell (its source is restored from the instructor's version before grading)."""
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def scan_notebook(nb):
    """Every finding for a notebook (an nbformat node or its JSON as a dict), in cell order.

    Findings for the cells the student could write: all code cells except autograded test cells,
    whose source nbgrader restores from the release.
    """
    cells = nb["cells"]
    code_cells = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    trees = []
    for _, cell in code_cells:
        try:
            trees.append(ast.parse(_python_source(_source_text(cell))))
        except SyntaxError:
            pass
    aliases = _collect_aliases(trees)
    findings = []
    for index, cell in code_cells:
        if not is_test_cell(cell):
            for line, kind, reason, code in scan_source(_source_text(cell), aliases):
                findings.append(Finding(index, _nbgrader(cell).get("grade_id"), line, kind, reason, code))
    return findings


def _source_text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def scan_notebook_file(path):
    """``scan_notebook`` for a notebook file."""
    return scan_notebook(json.loads(Path(path).read_text(encoding="utf-8")))


def format_report(findings, title="integrity report"):
    """Plain-text report for a person; says so explicitly when nothing was found."""
    if not findings:
        return f"{title}: nothing found"
    lines = [f"{title}: {len(findings)} finding(s) to review"]
    lines.extend(f"  - {finding.describe()}" for finding in findings)
    return "\n".join(lines)


def main(argv=None):
    paths = (argv if argv is not None else sys.argv[1:])
    if not paths:
        print("usage: python -m autograder.integrity NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    found_any = False
    for path in paths:
        try:
            findings = scan_notebook_file(path)
        except (OSError, ValueError, KeyError) as error:
            print(f"{path}: could not be read as a notebook ({error})", file=sys.stderr)
            found_any = True
            continue
        found_any = found_any or bool(findings)
        print(format_report(findings, title=str(path)))
    return 1 if found_any else 0


def as_dicts(findings):
    """Findings as plain dicts (for JSON reports)."""
    return [asdict(finding) for finding in findings]


if __name__ == "__main__":
    sys.exit(main())
