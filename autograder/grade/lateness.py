"""Late submissions: a due date with a grace period, and a late-penalty rule for nbgrader.

nbgrader keeps an assignment's due date in the gradebook (``Assignment.duedate``, set with
``nbgrader db assignment add lab5 --duedate=...`` or the formgrader; nbgrader 0.9 reads no due
date from ``nbgrader_config.py``) and, after autograding, lets ``AssignLatePenalties`` ask the
plugin named by ``c.AssignLatePenalties.plugin_class`` for a penalty per notebook:
``late_submission_penalty(student_id, score, total_seconds_late)``, where
``total_seconds_late`` is the submission's ``timestamp`` minus the due date (plus any extension),
zero when on time or when either is unknown. nbgrader then clamps the penalty to [0, score].

:class:`GracePeriodLatePenalty` is such a plugin. It also carries the course's due date and grace
period as configuration, so that one ``nbgrader_config.py`` section says everything::

    c.AssignLatePenalties.plugin_class = "autograder.grade.lateness.GracePeriodLatePenalty"
    c.GracePeriodLatePenalty.duedate = "2025-03-14 17:00:00 Europe/Berlin"
    c.GracePeriodLatePenalty.grace_period_minutes = 15
    c.GracePeriodLatePenalty.penalty_method = "per_hour"   # none | zero | per_hour | per_day
    c.GracePeriodLatePenalty.points_per_unit = 1.0          # points off per (started) hour
    c.GracePeriodLatePenalty.fraction_per_unit = 0.0        # and/or this fraction of the score
    c.GracePeriodLatePenalty.max_penalty_fraction = 1.0     # never more than the whole score

:func:`late_policy` reads that section; :func:`store_duedate` puts the due date into the gradebook,
where nbgrader computes lateness from it. Submissions without a timestamp (Moodle and Canvas
downloads carry none, only nbgrader's ``timestamp.txt`` does) are never late for nbgrader.

The rule: a submission at most ``grace_period_minutes`` late is on time (no penalty). A later
one is late by its whole delay, counted from the due date (the grace period is not deducted);
with ``round_up`` (the default) every started hour or day counts as a whole one. The penalty is
``units * (points_per_unit + fraction_per_unit * score)``, capped at ``max_penalty_fraction *
score`` (and so never more than the score).
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Bool, Enum, Float, Unicode

SECONDS_PER_UNIT = {"per_hour": 3600.0, "per_day": 86400.0}


class GracePeriodLatePenalty(LateSubmissionPlugin):
    """Late penalty after a grace period: points and/or a fraction of the score per hour or day."""

    penalty_method = Enum(
        ("none", "zero", "per_hour", "per_day"), default_value="none",
        help="none: no penalty; zero: a late submission scores zero; per_hour / per_day: "
             "points_per_unit + fraction_per_unit * score for every (started) hour or day late",
    ).tag(config=True)
    duedate = Unicode(
        "", help="Due date as nbgrader parses it, e.g. '2025-03-14 17:00:00 Europe/Berlin' "
                 "(stored in the gradebook by autograder.grade.lateness.store_duedate)",
    ).tag(config=True)
    grace_period_minutes = Float(0.0, help="Submissions at most this late count as on time").tag(config=True)
    points_per_unit = Float(0.0, help="Points off per hour or day late").tag(config=True)
    fraction_per_unit = Float(0.0, help="Fraction of the notebook's score off per hour or day late").tag(config=True)
    max_penalty_fraction = Float(1.0, help="The penalty never exceeds this fraction of the score").tag(config=True)
    round_up = Bool(True, help="A started hour or day counts as a whole one").tag(config=True)

    def late_units(self, total_seconds_late):
        """Hours or days late that the penalty counts (0 within the grace period)."""
        if not within_grace(total_seconds_late, self.grace_period_minutes) and self.penalty_method in SECONDS_PER_UNIT:
            units = total_seconds_late / SECONDS_PER_UNIT[self.penalty_method]
            return math.ceil(units - 1e-9) if self.round_up else units
        return 0

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """The penalty in points for one notebook (None: no penalty), as nbgrader asks for it."""
        score = float(score or 0.0)
        if within_grace(total_seconds_late, self.grace_period_minutes) or self.penalty_method == "none":
            return None
        if self.penalty_method == "zero":
            return score
        units = self.late_units(total_seconds_late)
        penalty = units * (self.points_per_unit + self.fraction_per_unit * score)
        return max(0.0, min(penalty, self.max_penalty_fraction * score, score))


def within_grace(total_seconds_late, grace_period_minutes):
    """True when a submission this many seconds late counts as on time."""
    return (total_seconds_late or 0) <= 60.0 * (grace_period_minutes or 0)


@dataclass
class LatePolicy:
    """The due date (naive UTC, as nbgrader stores it; None: no due date) and the grace period."""

    duedate: datetime = None
    grace: timedelta = timedelta(0)

    def seconds_late(self, timestamp):
        """Seconds after the due date (0 if on time or either is unknown), like nbgrader's."""
        return seconds_late(timestamp, self.duedate)

    def is_late(self, timestamp):
        """Late beyond the grace period."""
        return self.seconds_late(timestamp) > self.grace.total_seconds()


def late_policy(config):
    """Read the due date and grace period from a traitlets config (``nbgrader_config.py``)."""
    from nbgrader.utils import parse_utc

    plugin = GracePeriodLatePenalty(config=config)
    return LatePolicy(duedate=parse_utc(plugin.duedate) if plugin.duedate else None,
                      grace=timedelta(minutes=plugin.grace_period_minutes))


def seconds_late(timestamp, duedate):
    """Seconds ``timestamp`` is after ``duedate`` (datetimes or strings nbgrader can parse)."""
    from nbgrader.utils import parse_utc

    if not timestamp or not duedate:
        return 0.0
    return max(0.0, (parse_utc(timestamp) - parse_utc(duedate)).total_seconds())


def store_duedate(db_url, duedate, course_id=None, assignment_id=None):
    """Set the assignment's due date in the gradebook (where nbgrader computes lateness from)."""
    from nbgrader.api import Gradebook

    from autograder.course import ASSIGNMENT_ID

    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        gb.update_or_create_assignment(assignment_id or ASSIGNMENT_ID, duedate=duedate)
