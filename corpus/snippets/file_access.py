# hostile: read what a student must not see (prints LEAK for every success), and try to write
# outside its folder (the test checks the host's files afterwards)
import glob
import os
targets = ["{COURSE}/source/lab5/lab5-mixture-models.ipynb", "{COURSE}/gradebook.db",
           "{COURSE}/nbgrader_config.py", "{HOME}/.bashrc",
           "{COURSE}/submitted/{OTHER}/lab5/lab5-mixture-models.ipynb",
           "{COURSE}/autograded/{OTHER}/lab5/lab5-mixture-models.ipynb"]
targets += glob.glob("{COURSE}/submitted/*/lab5/*.ipynb") + glob.glob("{COURSE}/autograded/*/lab5/*.ipynb")
own = os.getcwd()
for target in targets:
    if os.path.abspath(target).startswith(own + os.sep):
        print("OWN read", target)  # its own folder is the one place it may read and write
        continue
    try:
        with open(target, "rb") as fh:
            fh.read(10)
        print("LEAK read", target)
    except OSError:
        print("SAFE read", target)
for target in ["{COURSE}/gradebook.db", "{COURSE}/source/lab5/planted.txt", "{COURSE}/planted.txt"]:
    try:
        with open(target, "ab") as fh:
            fh.write(b"planted")
        print("TRIED write", target)
    except OSError:
        print("SAFE write", target)
