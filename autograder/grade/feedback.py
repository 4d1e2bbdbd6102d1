"""Feedback without hidden tests: ``ScrubHiddenTestOutput``, run before nbgrader's ``ClearHiddenTests``.

``nbgrader generate_feedback`` shows hidden tests (jupyter/nbgrader#917). ``ClearHiddenTests``
removes their source, but outputs can still quote them: a traceback shows the failing line, and
a student's cell can print the kernel's input history. This preprocessor uses the same
delimiters (it is a ``ClearHiddenTests``, configured by the same traits) and

* removes, from every output of every cell, each line that quotes a statement of any hidden test
  (as written, or escaped as JSON or a Python string would show it: a student's cell may print
  the kernel's input history or the notebook file) or a hidden-test delimiter;
* reduces the error outputs of cells holding hidden tests to the exception's name and message
  (the verifier's message, which names no hidden line);
* quotes the delimiter text where a *student's* cell contains it (say, in a string it searches
  for): ``ClearHiddenTests`` would take it for a hidden-test region and fail the whole feedback.

It removes nothing itself from the test cells' source: ``ClearHiddenTests`` does that next.
"""
import json
import re

from nbgrader.preprocessors import ClearHiddenTests

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HIDDEN_NOTE = "(the traceback of a hidden test is not shown)"
MIN_FRAGMENT = 8  # statements shorter than this ("pass") say nothing and could match anything


def hidden_statements(source, begin, end):
    """The statements (split at ``;``) of the hidden-test lines of one cell's source."""
    statements, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            inside = True
        elif stripped == end:
            inside = False
        elif inside and not stripped.startswith("#"):
            statements += [part.strip() for part in stripped.split(";") if len(part.strip()) >= MIN_FRAGMENT]
    return statements


def quoted_forms(statement):
    """A statement as it reads raw, and as JSON or a Python repr would escape it."""
    return {statement, json.dumps(statement)[1:-1], repr(statement)[1:-1]}


def scrub_text(text, secrets):
    """``text`` without any line that quotes a hidden-test statement."""
    kept = [line for line in ANSI.sub("", str(text)).splitlines(keepends=True) if not any(s in line for s in secrets)]
    return "".join(kept)


class ScrubHiddenTestOutput(ClearHiddenTests):
    """Scrub hidden-test statements from every output; reduce hidden cells' errors to name and message."""

    def preprocess(self, nb, resources):
        from autograder.verifier.record import is_autograder_test

        begin, end = f"### {self.begin_test_delimeter}", f"### {self.end_test_delimeter}"
        self._begin = begin
        statements = {s for cell in nb.cells if cell.cell_type == "code" for s in hidden_statements(cell.source, begin, end)}
        secrets = {form for s in statements for form in quoted_forms(s)} | {self.begin_test_delimeter, self.end_test_delimeter}
        self._secrets = sorted(secrets, key=len, reverse=True)
        for cell in nb.cells:
            if not is_autograder_test(cell):  # the student's own text: its delimiter words are only words
                for delimiter in (self.begin_test_delimeter, self.end_test_delimeter):
                    cell.source = cell.source.replace(delimiter, delimiter.lower().replace(" ", "-") + " (quoted)")
            self._scrub_cell(cell)
        return nb, resources

    def _scrub_cell(self, cell):
        if cell.cell_type != "code":
            return
        hidden = self._begin in cell.source
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                output["text"] = scrub_text(output.get("text", ""), self._secrets)
            elif kind == "error":
                output["evalue"] = scrub_text(output.get("evalue", ""), self._secrets)
                if hidden:
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}", HIDDEN_NOTE]
                else:
                    output["traceback"] = [scrub_text(entry, self._secrets) for entry in output.get("traceback", [])]
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                for mime, value in list(data.items()):
                    if isinstance(value, str) and not mime.startswith("image/"):
                        data[mime] = scrub_text(value, self._secrets)
                    elif not isinstance(value, str) and any(s in json.dumps(value) for s in self._secrets):
                        del data[mime]  # structured data (JSON) quoting a hidden test: dropped whole
