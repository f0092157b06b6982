"""The demo: one event live now, one upcoming, one archived, all loaded through the real actions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from panel.actions import Actions
from panel.clock import Clock, FakeClock
from panel.config import Settings
from panel.demo_loading import DemoSite, begin_load, finish_load
from panel.domain import Actor, utc
from panel.store import Store

LIVE_SLUG = "probation-officer-careers"
UPCOMING_SLUG = "becoming-a-paramedic"
ARCHIVE_SLUG = "teaching-as-a-second-career"
DEMO_EDITOR = "editor"
ZONE = "Europe/London"
DEMO_DESK = Actor("editor", 0, "demo")
SITE = DemoSite(slugs=(LIVE_SLUG, UPCOMING_SLUG, ARCHIVE_SLUG), editor=DEMO_EDITOR)


@dataclass
class DemoInfo:
    editor: str = DEMO_EDITOR
    password: str | None = None  # None when the editor already existed
    invites: list[tuple[str, str]] = field(default_factory=list)  # (panelist, path)
    loaded: bool = True


LIVE_INTRO = """\
Probation officers advise courts before sentencing and supervise people serving community
sentences or released from prison. A wrong call can put the public at risk, but far more often
the work visibly changes someone's life for the better.

New officers train on the job as probation services officers while studying for a degree in
community justice and a vocational qualification. Our panel answers your questions on getting
in, training, caseloads and the daily work, all afternoon.
"""

LIVE_RELATED = [
    {
        "title": "Diary of a probation officer",
        "url": "https://example.org/probation-officer-diary",
        "summary": "Anonymously, an officer in a northern city, three years qualified after two as "
        "a trainee, on holding 45 to 50 cases: proud of the work, scathing about "
        "management.",
    }
]

CORE = [
    (
        "Maria Ashdown",
        "Head of probation training",
        "Leads probation training for a national offender management service's learning and "
        "development team.",
    ),
    (
        "Jenna Holt",
        "Probation officer",
        "Joined the probation service in 2004 after an English degree, first helping people with "
        "literacy, numeracy and finding work; now a fully trained probation officer in a "
        "north-east town.",
    ),
    (
        "Martin Oakes",
        "Freelance trainer and tutor",
        "Ten years as a probation officer in London and the south-east, then staff development in "
        "a probation HR team; now trains and tutors on criminal justice courses.",
    ),
    (
        "Dr Priya Hamid",
        "Senior lecturer in criminology and community justice",
        "Formerly a probation officer in Manchester; now at a Sheffield university, researching "
        "penology and criminal justice policy.",
    ),
]

SLOTTED = [
    (
        0,
        "Sandra Kemp",
        "Senior probation officer",
        "Trained in 2003; manages and assesses higher-risk cases and supports staff development.",
    ),
    (
        1,
        "Kerry Dale",
        "Probation officer",
        "Qualified in 2005; a caseload mostly high risk of harm, working with prisons, police, "
        "social services, mental health and housing teams.",
    ),
    (
        1,
        "Emma Marsh",
        "Probation officer",
        "Five years in customer service before training as a probation officer.",
    ),
    (
        1,
        "Ravi Hollins",
        "Probation officer",
        "Works with sex offenders, people on life and public protection sentences and substance "
        "misuse cases; before 2002 supported adults with learning disabilities. Social policy "
        "degree.",
    ),
    (
        2,
        "Chloe Lam",
        "Probation officer",
        "Qualified about 18 months ago; works in a substance misuse team in a London borough.",
    ),
    (
        2,
        "Claire Fenwick",
        "Probation officer",
        "A trainee in Leeds from 2005, qualified nearly three years; interested in high-risk "
        "resettlement cases.",
    ),
]


def place_live_event(at: datetime) -> datetime:
    """The demo event's start: the top of the local hour holding `at` (so `at` is in slot 1)."""
    local = utc(at).astimezone(ZoneInfo(ZONE))
    return utc(local.replace(minute=0, second=0, microsecond=0))


async def load_demo(
    store: Store,
    settings: Settings,
    clock: Clock,
    at: datetime | None = None,
    report: Callable[[DemoInfo], None] = lambda info: None,
) -> DemoInfo:
    """Load the three demo events and a demo editor, unless the demo is complete already.

    Crash-safe (panel/demo_loading.py): what a killed load left behind is removed and loaded
    again. `report` is called before the load is marked complete, so the logins it prints
    are never lost to a kill: the last ones printed always work."""
    if at is not None:
        # Build the demo as of `at`, else the real clock would close (or not yet open) the
        # live event while its questions and answers are being seeded.
        clock = FakeClock(utc(at))
    now = clock.now()
    info = DemoInfo()
    actions = Actions(store, clock, settings)
    creates_editor = await begin_load(store, clock, SITE)
    if creates_editor is None:
        info.loaded = False
        async with store.read() as repo:
            creates_editor = await repo.editor_by_username(DEMO_EDITOR) is None
    if creates_editor:
        info.password = secrets.token_urlsafe(9)
        await actions.create_editor(DEMO_EDITOR, info.password, role="admin")
    if info.loaded:
        await _archived_event(store, settings, now - timedelta(days=21))
        info.invites = await _live_event(actions, place_live_event(now))
        await _upcoming_event(actions, place_live_event(now) + timedelta(days=7))
    report(info)
    if info.loaded:
        await finish_load(store, clock)
    return info


async def _live_event(actions: Actions, start: datetime) -> list[tuple[str, str]]:
    hour = timedelta(hours=1)
    event_id = await actions.create_event(
        slug=LIVE_SLUG,
        title="Working and training as a probation officer",
        summary="A careers live Q&A: getting in, training, caseloads and the daily work.",
        starts_at=start,
        ends_at=start + 3 * hour,
        timezone=ZONE,
        intro_md=LIVE_INTRO,
        related=LIVE_RELATED,
        status="scheduled",
        slots=[
            (label, start + i * hour, start + (i + 1) * hour)
            for i, label in enumerate(
                ["Getting in", "Training and caseloads", "Daily work and risk"]
            )
        ],
    )
    async with actions.store.read() as repo:
        slots = await repo.slots(event_id)
    people: dict[str, int] = {}
    for name, role, bio in CORE:
        people[name] = await actions.add_panelist(event_id, name, role, bio)
    for index, name, role, bio in SLOTTED:
        people[name] = await actions.add_panelist(event_id, name, role, bio, slots[index].id)
    invites = [
        (name, f"/invite/{await actions.create_invite(event_id, pid)}")
        for name, pid in people.items()
    ]
    await actions.run_due_transitions(event_id)  # live, first slot started, all in the log
    await _seed_live_questions(actions, event_id, people)
    return invites


async def _seed_live_questions(actions: Actions, event_id: int, people: dict[str, int]) -> None:
    """A handful of questions in every state, each through the same actions readers use."""

    def panelist(name: str) -> Actor:
        return Actor("panelist", people[name], name)

    async def ask(reader: str, body: str, name: str = "", to: str | None = None) -> int:
        question, _ = await actions.post_question(
            event_id, reader, body, name, people[to] if to else None
        )
        return question.id

    async def approve(qid: int) -> None:
        await actions.moderate(qid, "approve", DEMO_DESK)

    q1 = await ask(
        "demo-reader-1",
        "Do I need a degree before I can apply to train as a probation officer?",
        "Sam",
    )
    await approve(q1)
    await actions.answer(
        q1,
        (
            "No. You apply for a trainee post as a **probation services officer** and study for "
            "the degree in community justice *while you work*. Relevant experience (volunteering, "
            "support work, customer-facing jobs) matters as much as previous study."
        ),
        panelist("Maria Ashdown"),
    )
    q2 = await ask(
        "demo-reader-2",
        "How many cases does a newly qualified officer carry, and is it manageable?",
    )
    await approve(q2)
    await actions.answer(
        q2,
        (
            "Expect something like 40 to 50 cases once you are qualified, with a mix of risk "
            "levels. It is manageable with good supervision and a team that shares the load."
        ),
        panelist("Jenna Holt"),
    )
    await actions.answer(
        q2,
        (
            "I would add: learn early to prioritise by **risk**, not by who shouts loudest. "
            "Your line manager should review your caseload with you regularly."
        ),
        panelist("Martin Oakes"),
    )
    q3 = await ask(
        "demo-reader-3",
        "What does a higher-risk case assessment involve day to day?",
        "Leah",
        to="Sandra Kemp",
    )
    await approve(q3)
    await actions.answer(
        q3,
        (
            "Gathering information from police, prisons and other agencies, meeting the person "
            "regularly, and writing a risk management plan that says what we will do if warning "
            "signs appear."
        ),
        panelist("Sandra Kemp"),
    )
    q4 = await ask("demo-reader-4", "Is the pay enough to live on in London while training?", "Tom")
    await approve(q4)
    await actions.moderate(q4, "pin", DEMO_DESK)
    duplicate = await ask("demo-reader-5", "Can I train without a degree?")
    await actions.moderate(duplicate, "merge", DEMO_DESK, into=q1)
    rejected = await ask("demo-reader-6", "Buy cheap followers at my website!!!")
    await actions.moderate(rejected, "reject", DEMO_DESK, reason="Spam")
    await ask("demo-reader-7", "How do you switch off after a difficult day?", "Ana")
    research = await ask(
        "demo-reader-8",
        "Which research would you recommend on what helps people stop offending?",
        to="Dr Priya Hamid",
    )
    q5 = await ask("demo-reader-9", "Honestly, how much of the job is paperwork?", "Kit")
    await approve(q5)
    await _seed_backstage(actions, event_id, people, pinned=q4, paperwork=q5, waiting=research)


async def _seed_backstage(
    actions: Actions,
    event_id: int,
    people: dict[str, int],
    *,
    pinned: int,
    paperwork: int,
    waiting: int,
) -> None:
    """The staff side of the live hour: a colleague writing an answer, and backstage notes."""
    jenna = Actor("panelist", people["Jenna Holt"], "Jenna Holt")
    drafts, backstage = actions.drafts, actions.backstage
    await drafts.claim(pinned, jenna)
    await drafts.save(pinned, jenna, "It depends a lot on the area: London posts come with ")
    maria = Actor("panelist", people["Maria Ashdown"], "Maria Ashdown")
    await drafts.save(paperwork, maria, "More than most people expect: reports for the courts, ")
    await backstage.send(
        event_id,
        DEMO_DESK,
        f"Welcome, everyone. Tom's question on pay (#{pinned}) is pinned: readers keep "
        "upvoting it.",
    )
    await backstage.send(
        event_id,
        DEMO_DESK,
        f"Priya, a research question for you (#{waiting}) is coming up after moderation.",
        to=people["Dr Priya Hamid"],
    )
    await backstage.send(
        event_id,
        jenna,
        "I'm on this one, but a London colleague may know the allowances better.",
        about=pinned,
    )


async def _upcoming_event(actions: Actions, start: datetime) -> None:
    hour = timedelta(hours=1)
    event_id = await actions.create_event(
        slug=UPCOMING_SLUG,
        title="Becoming a paramedic: training, shifts and the first year",
        summary="Ask our panel of paramedics and tutors about degrees, apprenticeships and life "
        "on the road.",
        starts_at=start,
        ends_at=start + 2 * hour,
        timezone=ZONE,
        status="scheduled",
        intro_md="Paramedics are often the first clinicians a patient meets. Our panel explains "
        "the routes in, what the training involves and what the first year is like. "
        "Questions are open now.",
        slots=[
            ("Routes in", start, start + hour),
            ("The first year", start + hour, start + 2 * hour),
        ],
    )
    async with actions.store.read() as repo:
        slots = await repo.slots(event_id)
    await actions.add_panelist(
        event_id,
        "Dev Okafor",
        "Paramedic team leader",
        "Twelve years on the road in the West Midlands.",
    )
    await actions.add_panelist(
        event_id,
        "Helen Price",
        "Senior lecturer in paramedic science",
        "Runs a paramedic science degree course.",
    )
    await actions.add_panelist(
        event_id,
        "Marcus Bell",
        "Newly qualified paramedic",
        "Qualified last year through a degree apprenticeship.",
        slots[1].id,
    )
    await actions.post_question(
        event_id, "demo-reader-9", "Is an apprenticeship as respected as a degree?", "Jo"
    )


ARCHIVE_QA = [
    (
        "Is it too late to retrain as a teacher at 45?",
        "Not at all. Schools value people who bring experience from other work, and many trainees "
        "are in their 40s and 50s.",
        "Alan Reeve",
    ),
    (
        "Which training route pays while you train?",
        "Salaried school-based routes and apprenticeships pay you as you train; a postgraduate "
        "course usually comes with a bursary in shortage subjects.",
        "Grace Whitfield",
    ),
    (
        "How much marking is there really?",
        "It depends on the subject and the school's policy. Good schools use whole-class feedback "
        "to keep it sensible.",
        "Alan Reeve",
    ),
    (
        "Do I need a degree in the subject I want to teach?",
        "Not always. A subject knowledge enhancement course can bridge the gap.",
        "Grace Whitfield",
    ),
    (
        "What surprised you most in your first year?",
        "How much of the job is relationships: with pupils, parents and colleagues.",
        "Nadia Shah",
    ),
    (
        "How do you manage behaviour as a new teacher?",
        "Clear routines, consistency and following the school's policy from day one.",
        "Nadia Shah",
    ),
    ("Can I teach part time?", "Yes, increasingly; ask about it at interview.", "Grace Whitfield"),
    (
        "Primary or secondary: how did you choose?",
        "Spend a few days in each before you apply. You will know.",
        "Alan Reeve",
    ),
    (
        "Is the workload compatible with having young children?",
        "It can be, with planning and a supportive school. Ask about flexible working policies.",
        "Nadia Shah",
    ),
    (
        "What would you tell your first-year self?",
        "Ask for help early, and keep one evening a week entirely free.",
        "Alan Reeve",
    ),
]


async def _archived_event(store: Store, settings: Settings, start: datetime) -> None:
    """An earlier Q&A, run on a clock set to its own afternoon, then closed and published."""
    start = place_live_event(start)
    clock = FakeClock(start - timedelta(days=7))
    actions = Actions(store, clock, settings)
    hour = timedelta(hours=1)
    event_id = await actions.create_event(
        slug=ARCHIVE_SLUG,
        title="Teaching as a second career",
        summary="Career changers and teacher trainers on retraining to teach.",
        starts_at=start,
        ends_at=start + 2 * hour,
        timezone=ZONE,
        status="scheduled",
        intro_md="Thinking of leaving another career to teach? Our panel of career changers "
        "and teacher trainers answered readers' questions.",
        slots=[
            ("Getting in", start, start + hour),
            ("The first years", start + hour, start + 2 * hour),
        ],
    )
    people = {
        "Alan Reeve": await actions.add_panelist(
            event_id,
            "Alan Reeve",
            "Maths teacher",
            "Retrained at 44 after twenty years in engineering.",
        ),
        "Grace Whitfield": await actions.add_panelist(
            event_id,
            "Grace Whitfield",
            "Teacher training lead",
            "Runs a school-centred initial teacher training programme.",
        ),
        "Nadia Shah": await actions.add_panelist(
            event_id,
            "Nadia Shah",
            "Primary teacher",
            "Left marketing to teach; now in her third year.",
        ),
    }
    clock.set(start)
    await actions.run_due_transitions(event_id)
    for index, (body, answer, by) in enumerate(ARCHIVE_QA):
        clock.set(start + timedelta(minutes=8 * index + 2))
        question, _ = await actions.post_question(event_id, f"archive-reader-{index}", body)
        await actions.moderate(question.id, "approve", DEMO_DESK)
        clock.advance(minutes=3)
        await actions.answer(question.id, answer, Actor("panelist", people[by], by))
    clock.set(start + 2 * hour)
    await actions.run_due_transitions(event_id)
    await actions.publish_transcript(
        event_id, DEMO_DESK, intro_md="Edited highlights of the live Q&A."
    )
