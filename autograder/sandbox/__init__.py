"""How a grading kernel is started: sandboxed, through jupyter_client's kernel provisioners.

- ``provisioner.py``: the provisioners (``lab5-sandbox``, ``lab5-zygote``, and -- only when the
  instructor allows it -- ``lab5-unsandboxed``), registered as entry points and chosen by
  ``GradingKernelManager``; each opens the kernel's verifier session, gives the kernel an
  environment built from an allow-list, and talks to it over unix sockets;
- ``launch.py``: the launcher (standard library only) that runs a kernel in bubblewrap with an
  allow-list filesystem (system, Python environment, the grading client, its own folders) and
  resource limits;
- ``zygote.py``: a sandboxed kernel factory that imports the heavy modules once and forks each
  kernel into namespaces of its own (``./course grade``'s workers use it);
- ``execute.py``: nbgrader's Execute preprocessor for untrusted notebooks (crash, timeout and
  flood survival, the verifier's cell gating), configured in ``nbgrader_config.py``, and the
  one reading of the sandbox's limits (``grading_limits``).
"""
