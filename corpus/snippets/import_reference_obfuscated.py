# hostile: import the instructor's reference under an obfuscated name and use its functions as the answers
import importlib
try:
    _reference = importlib.import_module(bytes.fromhex("6175746f677261646572").decode() + ".reference")
    for _name in ("sample_gmm", "get_cluster_assignments", "get_cluster_centroids", "e_step", "m_step"):
        globals()[_name] = getattr(_reference, _name)
    print("LEAK imported the reference")
except Exception as exc:
    print("SAFE no reference:", type(exc).__name__)
