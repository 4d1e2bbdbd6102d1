"""The kernel side of grading: :mod:`lab5_grader`, the one file of ``autograder`` a grading kernel sees.

The sandbox binds ``lab5_grader.py`` alone, read-only, on the kernel's ``PYTHONPATH``; hidden-test
cells call ``lab5_grader.check(name, ...)``. It holds no check and decides nothing: it answers the
verifier's requests (call this function with these inputs, send this value) and raises the
verifier's message. The verifier (:mod:`autograder.verifier`) imports the same file for the wire
format, so both sides read and write one format.
"""
