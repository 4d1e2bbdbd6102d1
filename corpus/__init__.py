"""Material for the tests and benchmarks: student-style code and notebooks, never graded for real.

- ``implementations``: correct variants and realistic mutants of the five graded functions,
  and a way to grade them with the checks in this process (``implementations.grading``);
- ``notebooks``: whole submissions built from the release (correct, buggy, hostile), invalid LMS
  uploads; ``snippets/``: the hostile cells they are built from;
- ``sealed``: damaged notebooks and attacks on the grader's secrets, with what each may score;
- ``courses``: private copies of the course for one test or benchmark, and gradebook readers;
- ``kernels``: one grading kernel driven from a test.
"""
