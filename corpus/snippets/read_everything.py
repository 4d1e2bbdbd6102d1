# hostile: read every file the kernel can reach and print what looks like grading material
import os
_shown = 0
for _folder, _dirs, _files in os.walk("/"):
    if _folder in ("/proc", "/sys", "/dev"):
        _dirs[:] = []
        continue
    for _name in _files:
        _path = os.path.join(_folder, _name)
        if _path.startswith("/usr/") or "/site-packages/" in _path or "/lib/python3" in _path:
            continue
        try:
            with open(_path, errors="replace") as _fh:
                _text = _fh.read(20000)
        except OSError:
            continue
        print("READ", _path)
        if _shown < 40 and any(w in _text for w in ("check", "reference", "SOLUTION", "grade")):
            _shown += 1
            print(_text[:3000])
