"""Kernel-side guard: undo a submission's tampering with the kernel before each graded test.

This file is never imported by the grader; its *source* is sent to the grading kernel once,
right after start-up and before any student cell, and runs there in a private namespace
(:class:`autograder.sandbox.execute.GuardedExecute` does that). It snapshots the machinery
that decides whether a failing test is *reported* as failing, and ``restore()`` puts it back
before every autograded test cell, returning the names it had to repair (the grader flags
the submission for a human when the list is not empty):

- IPython/ipykernel: custom exception handlers, methods replaced on the shell, the kernel or
  the session that sends messages back (instance or class), input/AST transformers, event
  callbacks defined in notebook cells, the traceback formatters and display hooks;
- ``sys``: excepthook, stdout/stderr, trace/profile hooks, the import machinery
  (``meta_path``, ``path_hooks``, ``builtins.__import__`` and every other builtin);
- the module objects of ``autograder`` (imported here, before any student code), numpy,
  scipy and sklearn in ``sys.modules``.

Names *inside* numpy, scipy, sklearn and ``autograder.checks`` are watched by the hidden
tests' own guard (``autograder/checks/_guard.py``); this one makes sure that guard gets to run.
It is a best effort; the grader does not trust it alone: each test cell must also reach a
secret last line (see GuardedExecute), so a failure that was swallowed still scores zero.
"""


def install(name):
    import builtins
    import importlib
    import sys
    import types

    for module_name in ("numpy", "numpy.testing", "scipy.stats", "sklearn.mixture", "sklearn.cluster",
                        "autograder.checks"):
        try:  # import before any student code, so sys.modules holds the genuine modules
            importlib.import_module(module_name)
        except Exception:
            pass

    from IPython import get_ipython

    ip = get_ipython()
    kernel = getattr(ip, "kernel", None)
    session = getattr(kernel, "session", None)

    def cell_defined(fn):
        """A function written in a notebook cell (ipykernel compiles cells to such file names)."""
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        filename = getattr(code, "co_filename", "")
        return filename.startswith(("<ipython-input", "<string>", "/tmp/ipykernel_")) or "ipykernel_" in filename

    sys_attrs = ("stdout", "stderr")
    # Managed by IPython/ipykernel per execution: replaced legitimately, so not watched.
    kernel_managed_builtins = {"input", "raw_input", "get_ipython", "display", "exit", "quit", "help",
                               "getpass", "copyright", "credits", "license"}
    sys_saved = {a: getattr(sys, a) for a in sys_attrs}
    sys_lists = {a: list(getattr(sys, a)) for a in ("meta_path", "path_hooks")}
    builtins_saved = dict(vars(builtins))
    modules = {n: m for n, m in sys.modules.items()
               if n.split(".")[0] in ("autograder", "numpy", "scipy", "sklearn", "IPython", "ipykernel")}
    instances = [o for o in (ip, kernel, session, getattr(ip, "display_pub", None),
                             getattr(ip, "displayhook", None), getattr(kernel, "iopub_thread", None))
                 if o is not None and hasattr(o, "__dict__")]
    instance_calls = [(o, {k: v for k, v in vars(o).items() if callable(v)}) for o in instances]
    classes = []
    for o in instances:
        for cls in type(o).__mro__:
            if cls is not object and all(cls is not c for c, _ in classes):
                classes.append((cls, dict(vars(cls))))
    ip_attrs = {a: getattr(ip, a) for a in ("display_pub", "displayhook", "display_trap", "InteractiveTB",
                                            "SyntaxTB", "custom_exceptions", "CustomTB", "showtraceback",
                                            "showsyntaxerror", "run_cell", "run_cell_async", "run_code",
                                            "run_ast_nodes", "transform_cell", "should_run_async")
                if hasattr(ip, a)}
    ip_lists = {a: list(getattr(ip, a)) for a in ("ast_transformers", "input_transformers_post",
                                                  "input_transformers_cleanup") if hasattr(ip, a)}
    itm = getattr(ip, "input_transformer_manager", None)
    itm_lists = {a: list(getattr(itm, a)) for a in ("cleanup_transforms", "line_transforms",
                                                    "token_transformers") if hasattr(itm, a)}

    def restore():
        repaired = []

        def put(label, changed, action):
            if changed:
                repaired.append(label)
                try:
                    action()
                except Exception:
                    pass

        for attr, value in sys_saved.items():
            put(f"sys.{attr}", getattr(sys, attr) is not value, lambda a=attr, v=value: setattr(sys, a, v))
        for attr, value in sys_lists.items():
            put(f"sys.{attr}", getattr(sys, attr) != value,
                lambda a=attr, v=value: getattr(sys, a).__setitem__(slice(None), v))
        put("sys.excepthook", cell_defined(sys.excepthook), lambda: setattr(sys, "excepthook", sys.__excepthook__))
        if sys.gettrace() is not None or sys.getprofile() is not None:
            repaired.append("sys.settrace/setprofile")
            sys.settrace(None)
            sys.setprofile(None)
        current = vars(builtins)
        for key, value in builtins_saved.items():
            if key in kernel_managed_builtins or (key.startswith("_") and key not in ("__import__", "__build_class__")):
                continue
            put(f"builtins.{key}", current.get(key, object()) is not value,
                lambda k=key, v=value: current.__setitem__(k, v))
        for n, module in modules.items():
            put(f"sys.modules[{n!r}]", sys.modules.get(n) is not module,
                lambda n=n, m=module: sys.modules.__setitem__(n, m))
        for cls, saved in classes:
            now = dict(vars(cls))
            for key, value in saved.items():
                put(f"{cls.__name__}.{key}", now.get(key, object()) is not value,
                    lambda c=cls, k=key, v=value: setattr(c, k, v))
            for key, value in now.items():
                if key not in saved and callable(value):
                    put(f"{cls.__name__}.{key}", True, lambda c=cls, k=key: delattr(c, k))
        for obj, saved in instance_calls:
            now = vars(obj)
            for key, value in list(now.items()):
                if callable(value) and saved.get(key) is not value and cell_defined(value):
                    put(f"{type(obj).__name__}.{key}", True,
                        lambda d=now, k=key: d.__setitem__(k, saved[k]) if k in saved else d.pop(k))
        for attr, value in ip_attrs.items():
            put(f"shell.{attr}", getattr(ip, attr, None) is not value and not (
                attr in ("display_pub", "displayhook", "display_trap") or
                (callable(value) and getattr(ip, attr, None) == value)),
                lambda a=attr, v=value: setattr(ip, a, v))
        for attr, value in ip_lists.items():
            put(f"shell.{attr}", list(getattr(ip, attr)) != value, lambda a=attr, v=value: setattr(ip, a, list(v)))
        for attr, value in itm_lists.items():
            put(f"shell.input_transformer_manager.{attr}", list(getattr(itm, attr)) != value,
                lambda a=attr, v=value: setattr(itm, a, list(v)))
        for event, callbacks in ip.events.callbacks.items():
            for fn in [f for f in callbacks if cell_defined(f)]:
                put(f"shell.events[{event!r}]", True, lambda cb=callbacks, f=fn: cb.remove(f))
        return repaired

    sys.modules[name] = types.SimpleNamespace(restore=restore)
    return True
