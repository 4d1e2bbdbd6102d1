"""The verifier: where the checks run and where every autograded point is decided.

The grading kernel is untrusted; it holds no check and no reference. For each kernel the grading
process opens a session in the verifier process (:mod:`service`), which listens on a socket in the
kernel's socket folder (:mod:`session`). A hidden-test cell's ``lab5_grader.check(name, ...)``
connects; the verifier chooses the inputs, has the kernel call the student's functions or read
their objects (:mod:`remote`, over :mod:`channel`: bounded, timed, decoded without pickle), judges
with :mod:`autograder.checks` (:mod:`runner`), records the verdict and sends back the message the
student sees. After the notebook ran, :mod:`record`'s ``ApplyVerifierRecord`` makes each test
cell's outputs agree with the record, so nbgrader's own scoring (``SaveAutoGrades``) gives a cell
its points only when the verifier recorded a pass for it and the cell itself raised nothing.
"""
