"""What counts as a leak of the master notebook: its solution and hidden-test code in some text.

Used by the tests that check the release, the feedback and the repaired notebooks.
"""
import re


# Lines that say nothing about the answer (argument conversion, returning names): they may be
# anywhere, so they neither count as a leak nor break a run of leaked lines.
BOILERPLATE = re.compile(r"^(\w+ = np\.asarray\(\w+(, dtype=\w+)?\)|return [\w, ]+|with warnings\.catch_warnings\(\):)$")


def code_lines(text):
    """Stripped lines that carry code: no blanks, comments or boilerplate."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#") and not BOILERPLATE.match(line)]


def secret_regions(notebook):
    """The code lines of every solution and hidden-test region of the source notebook."""
    regions = []
    for cell in notebook.cells:
        pattern = r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END (?:SOLUTION|HIDDEN TESTS)"
        regions += [code_lines(body) for body in re.findall(pattern, cell.source, re.S)]
    return [region for region in regions if region]


def leaked_lines(regions, text):
    """Solution lines found in ``text``: any two consecutive ones, or a one-line region on its own."""
    lines = code_lines(text)
    present, pairs = set(lines), set(zip(lines, lines[1:]))
    leaked = []
    for region in regions:
        if len(region) == 1 and len(region[0]) >= 20 and region[0] in present:
            leaked.append(region[0])
        leaked += [f"{a} / {b}" for a, b in zip(region, region[1:]) if (a, b) in pairs]
    return leaked
