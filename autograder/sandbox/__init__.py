"""The grading sandbox: every autograding kernel runs under bubblewrap with resource limits.

- ``launch.py``: the launcher (standard library only) that starts a kernel inside ``bwrap``;
- ``kernel.py``: the jupyter_client kernel manager that uses it (unix-socket transport);
- ``execute.py``: nbgrader's Execute preprocessor hardened for untrusted notebooks (crash,
  timeout and flood survival, tampering guard), configured in ``nbgrader_config.py``;
- ``guard.py``: the kernel-side code of the tampering guard (sent to the kernel as source);
- ``pristine.py``: the hidden tests' tamper-guard reference, computed once per grading process
  and bound read-only into each sandbox;
- ``zygote.py``: a sandboxed kernel factory that imports the heavy modules once and forks each
  kernel into namespaces of its own (``./course grade``'s workers use it), with
  ``zygote_stub.py``, the local process jupyter_client manages in place of a forked kernel.
"""
