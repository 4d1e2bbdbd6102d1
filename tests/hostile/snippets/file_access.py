# hostile: read what a student must not see (prints LEAK for every success), and try to write
# outside its folder (the test checks the host's files afterwards)
import glob
targets = ["{COURSE}/source/lab5/lab5-mixture-models.ipynb", "{COURSE}/gradebook.db",
           "{COURSE}/nbgrader_config.py", "{HOME}/.bashrc"]
targets += glob.glob("{COURSE}/submitted/*/lab5/*.ipynb") + glob.glob("{COURSE}/autograded/*/lab5/*.ipynb")
for target in targets:
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
