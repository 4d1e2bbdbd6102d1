# hostile: replace the grading client so that every hidden check "passes" in the kernel
import sys
import types
sys.modules["lab5_grader"] = types.SimpleNamespace(check=lambda *args, **kwargs: None)
