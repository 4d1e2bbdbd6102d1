"""The status of one graded submission: the one definition every tool uses (CSV, report, ledger, grader)."""
import enum


class Status(str, enum.Enum):
    """What happened to a submission; the value is what the CSV's ``status`` column says."""

    GRADED = "graded"  # every cell ran; the scores stand
    FLAGGED = "flagged"  # graded, but a person should look (see status_detail: why)
    TIMED_OUT = "timed out"  # a cell or the whole notebook ran out of time: the cells that could not run score zero
    CRASHED = "crashed"  # the notebook killed its kernel: points earned before that count, nothing after
    INVALID = "invalid"  # could not be graded (see status_detail); no score stands
    ERROR = "error"  # the grader itself failed: run again (nothing was recorded)
    PENDING = "pending"  # the run was interrupted before this submission was recorded: run again
    NOT_SUBMITTED = "not submitted"  # in the gradebook, but nothing handed in

    def __str__(self):
        return self.value

    @property
    def recorded(self):
        """Whether the submission's scores go into the gradebook."""
        return self in RECORDED


RECORDED = frozenset({Status.GRADED, Status.FLAGGED, Status.TIMED_OUT, Status.CRASHED})
# When several things happened in one notebook, the status shown is the most serious one.
SEVERITY = (Status.ERROR, Status.FLAGGED, Status.CRASHED, Status.TIMED_OUT, Status.GRADED)


def most_serious(statuses):
    """The status to show for a notebook in which all of ``statuses`` happened (GRADED if none)."""
    present = {Status(s) for s in statuses}
    return next((s for s in SEVERITY if s in present), Status.GRADED)
