"""Unit tests of the instructor-only grading code (run in-process, fast)."""
