"""Instructor-only grading code for the lab5 course package.

Never copied into ``release/``: students do not have it. The grading kernel imports
``autograder.checks`` from the hidden-test cells (the course root is put on its PYTHONPATH by
``nbgrader_config.py``).
"""
