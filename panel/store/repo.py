"""`Repo`: every query, composed from one group per noun. Each statement is written once,
with `:name` parameters, next to its row mapper, in the module of its noun."""

from __future__ import annotations

from panel.store.accounts import AccountRows
from panel.store.answers import AnswerRows
from panel.store.archive import ArchiveRows
from panel.store.contacts import ContactRows
from panel.store.counts import CountRows
from panel.store.digest_schedules import DigestScheduleRows
from panel.store.events import EventRows
from panel.store.forgetting import ForgetRows
from panel.store.leases import LeaseRows
from panel.store.log import LogRows
from panel.store.outbox import OutboxRows
from panel.store.people import PeopleRows
from panel.store.presence import PresenceRows
from panel.store.questions import QuestionRows
from panel.store.report import EventReportRows
from panel.store.reports import ReportRows
from panel.store.rows import Conn, Row
from panel.store.sessions import SessionRows
from panel.store.staffroom import StaffroomRows

__all__ = ["Conn", "Repo", "Row"]


class Repo(
    EventRows,
    PeopleRows,
    QuestionRows,
    AnswerRows,
    LogRows,
    AccountRows,
    SessionRows,
    ArchiveRows,
    StaffroomRows,
    LeaseRows,
    PresenceRows,
    CountRows,
    ReportRows,
    EventReportRows,
    ForgetRows,
    OutboxRows,  # mail (issue 17, migration 0015)
    ContactRows,
    DigestScheduleRows,
):
    """All queries on one connection: `Repo(conn, dialect)`. In a write, `frames` collects
    what the change appended."""
