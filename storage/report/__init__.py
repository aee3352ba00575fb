"""The report conversation: a person files a hidden danger, one answered step at a time.

Fronts call the operations and render the reply; the modules hold one idea each: `draft`
(the draft and its view), `task_list` (the tasks to file under), `steps` (the dispatch table
of step answers), `deadline` (typed dates), `submit` (numbering, the hidden danger,
duplicates, group cards), `operations` (begin, resume, discard, answer), `rules` (settings).
"""

from storage.report.deadline import parse_deadline
from storage.report.draft import (
    EDITABLE,
    ORDER,
    DraftView,
    PhotoView,
    Step,
    TaskChoice,
)
from storage.report.operations import (
    JUST_SUBMITTED,
    ReportReply,
    answer_report,
    begin_report,
    begin_report_with_photo,
    current_step,
    discard_report,
    resume_report,
)
from storage.report.photo_first import ADD_HELD, HELD_ANSWERS, NEW_FROM_HELD
from storage.report.rules import Area, ReportRules
from storage.report.steps import MAX_ADDRESS, MAX_DESCRIPTION, MAX_SITE, QUICK_DEADLINES
from storage.report.submit import Submitted
from storage.report.suggestions import LastPlace, SiteChoice
from storage.report.task_list import TASKS_PER_PAGE, TaskPage, task_page

__all__ = [
    "ADD_HELD",
    "EDITABLE",
    "HELD_ANSWERS",
    "JUST_SUBMITTED",
    "MAX_ADDRESS",
    "MAX_DESCRIPTION",
    "MAX_SITE",
    "NEW_FROM_HELD",
    "ORDER",
    "QUICK_DEADLINES",
    "TASKS_PER_PAGE",
    "Area",
    "DraftView",
    "LastPlace",
    "PhotoView",
    "ReportReply",
    "ReportRules",
    "SiteChoice",
    "Step",
    "Submitted",
    "TaskChoice",
    "TaskPage",
    "answer_report",
    "begin_report",
    "begin_report_with_photo",
    "current_step",
    "discard_report",
    "parse_deadline",
    "resume_report",
    "task_page",
]
