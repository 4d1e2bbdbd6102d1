"""The verifier's record decides the points: ``ApplyVerifierRecord``, an nbgrader preprocessor.

nbgrader scores an autograded test cell from its outputs (``nbgrader.utils.determine_grade``): an
error or stderr output gives 0, a numeric result gives partial credit, anything else full marks.
The kernel wrote those outputs, so they prove nothing. This preprocessor runs after execution
(before ``SaveAutoGrades``; see ``nbgrader_config.py``) and makes every test cell's outputs agree
with the verifier's record, which the execute preprocessor put in ``resources``:

* a result value in a test cell is removed (the lab's tests never produce one; nbgrader would
  read it as partial credit);
* a cell whose check the verifier did not record as passed gets an error output saying why (the
  verifier's own message, or that the check never ran), unless it already shows that error;
* a cell the verifier passed keeps its outputs: its own errors still cost its points.

No record at all (a kernel not started by the course's grading kernel manager) fails every test
cell closed.
"""
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

RESOURCE_KEY = "autograder"  # resources[RESOURCE_KEY]["verifier_record"], set by the execute preprocessor
NOT_RUN = ("this test's check did not run (the cell stopped before it, or the grading kernel was changed): "
           "no points without the check")
NO_RECORD = "no verifier record: this notebook was not executed by the course's grading kernel, so no test can be verified"


def is_autograder_test(cell):
    """A code cell whose points nbgrader decides from its outputs (an autograded test)."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def verdicts(record):
    """grade_id -> verdict entry of a record (empty for no record)."""
    return dict((record or {}).get("cells", {}))


class ApplyVerifierRecord(NbGraderPreprocessor):
    """Make each autograded test cell's outputs agree with the verifier's record (module docstring)."""

    def preprocess(self, nb, resources):
        self._record = (resources or {}).get(RESOURCE_KEY, {}).get("verifier_record")
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if not is_autograder_test(cell):
            return cell, resources
        cell.outputs = [output for output in cell.outputs if output.get("output_type") != "execute_result"]
        verdict = verdicts(self._record).get(cell.metadata.nbgrader["grade_id"])
        if verdict is not None and verdict.get("passed") is True:
            return cell, resources
        errors = [output for output in cell.outputs if output.get("output_type") == "error"]
        if self._record is None:
            cell.outputs.append(error_output("GraderError", NO_RECORD))
        elif verdict is None:
            if not errors:
                cell.outputs.append(error_output("GraderError", NOT_RUN))
        elif not any(output.get("evalue") == verdict.get("message") for output in errors):
            cell.outputs.append(error_output("AssertionError", str(verdict.get("message", "this check failed"))))
        return cell, resources
