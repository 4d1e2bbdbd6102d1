# hostile: keep the real client but forge every reply to the verifier, and swallow failed verdicts
import lab5_grader as _client
import numpy as _np
_original_serve, _original_check = _client.serve, _client.check
def _forged_serve(request, blobs, arguments):
    if request.get("op") == "call":
        return {"op": "returned", "value": {"$tuple": [_client.encode(_np.zeros((3, 2)), []), 0]}}, []
    return _original_serve(request, blobs, arguments)
def _swallowing_check(*args):
    try:
        _original_check(*args)
    except BaseException:
        pass
_client.serve = _forged_serve
_client.check = _swallowing_check
