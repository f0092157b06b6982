"""Times as a newspaper prints them ("1pm", "1.30pm", "Tuesday 15 September 2026"), shared by
the pages and the exports."""

from __future__ import annotations

from datetime import datetime

from panel.domain import EventStatus

# An event's status as readers and editors read it (pages and exports).
STATUS_LABELS = {
    EventStatus.DRAFT: "Draft",
    EventStatus.SCHEDULED: "Upcoming",
    EventStatus.LIVE: "Live now",
    EventStatus.CLOSED: "Ended",
    EventStatus.PUBLISHED: "Archived",
}


def clock_label(at: datetime) -> str:
    """Newspaper style: 1pm, 1.30pm."""
    hour = at.hour % 12 or 12
    suffix = "am" if at.hour < 12 else "pm"
    return f"{hour}{suffix}" if at.minute == 0 else f"{hour}.{at.minute:02d}{suffix}"


def date_label(at: datetime) -> str:
    return f"{at.strftime('%A')} {at.day} {at.strftime('%B %Y')}"
