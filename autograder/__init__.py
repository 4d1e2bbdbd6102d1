"""Instructor-only grading code for the lab5 course package (never released, never in a kernel).

Where things live:

- ``client/``: ``lab5_grader.py``, the one file a grading kernel sees: it answers the verifier
  and holds nothing secret (the wire format is defined there);
- ``sandbox/``: how a grading kernel is started: jupyter_client provisioners around bubblewrap
  (``launch.py``, an allow-list filesystem) and a pre-imported zygote, and nbgrader's execute
  preprocessor for untrusted notebooks;
- ``verifier/``: the process outside the sandbox where the checks run; its record decides every
  autograded point (``record.ApplyVerifierRecord``);
- ``checks/``: the checks themselves and which test cell may ask for each (``CHECKS``);
- ``grade/``: the class-grading pipeline (``./course grade``): import, repair, jobs, the single
  gradebook writer, feedback, grades CSV, LMS exports, lateness, the report;
- ``reference.py``, ``lab.py``: reference implementations and the lab's data (verifier side only);
- ``integrity.py``: the advisory scan of what a submission tried;
- ``regenerate.py``, ``demo.py``, ``demo_submissions.py``: release/solutions and the demo class;
- ``course.py``, ``status.py``: the course's facts and the status values, one place each.

The course content itself (the master notebook, data, images, widgets) lives in ``source/lab5``.
"""
