"""Feedback without hidden tests.

``nbgrader generate_feedback`` shows hidden tests (jupyter/nbgrader#917). nbgrader's
``ClearHiddenTests`` removes their source, but the error outputs still quote hidden-test lines
in their tracebacks. :class:`ScrubHiddenTestOutput` (configured in the SANDBOX section of
``nbgrader_config.py``, before ``ClearHiddenTests``) reduces the error outputs of every cell that
holds hidden tests to the exception's name and message, and removes from that message any line
of hidden-test source.
"""
import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HIDDEN_NOTE = "(the traceback of a hidden test is not shown)"


def hidden_test_lines(source, begin, end):
    """The non-trivial source lines between the hidden-test delimiters of a cell."""
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            inside = True
        elif stripped == end:
            inside = False
        elif inside and len(stripped) > 3 and not stripped.startswith("#"):
            lines.append(stripped)
    return lines


def scrub_message(text, secret_lines):
    """``text`` without any line that quotes (part of) a hidden-test line."""
    kept = []
    for line in ANSI.sub("", str(text)).splitlines():
        if not any(secret in line for secret in secret_lines):
            kept.append(line)
    return "\n".join(kept)


class ScrubHiddenTestOutput(NbGraderPreprocessor):
    """Reduce error outputs of hidden-test cells to 'ename: message' with no hidden source."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        begin, end = f"### {self.begin_test_delimeter}", f"### {self.end_test_delimeter}"
        if begin not in cell.source:
            return cell, resources
        secret = hidden_test_lines(cell.source, begin, end)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["evalue"] = scrub_message(output.get("evalue", ""), secret)
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}", HIDDEN_NOTE]
            elif output.get("output_type") == "stream":
                output["text"] = scrub_message(output.get("text", ""), secret)
        return cell, resources
