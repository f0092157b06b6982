"""The demo: one event live now, one upcoming, one archived, all loaded through the real actions."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
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
    people = {
        "Dev Okafor": await actions.add_panelist(
            event_id,
            "Dev Okafor",
            "Paramedic team leader",
            "Twelve years on the road in the West Midlands.",
        ),
        "Helen Price": await actions.add_panelist(
            event_id,
            "Helen Price",
            "Senior lecturer in paramedic science",
            "Runs a paramedic science degree course.",
        ),
        "Marcus Bell": await actions.add_panelist(
            event_id,
            "Marcus Bell",
            "Newly qualified paramedic",
            "Qualified last year through a degree apprenticeship.",
            slots[1].id,
        ),
    }
    await _seed_advance_questions(actions, event_id, people)


# The upcoming event's advance questions, for its digest: (body, name, to, upvotes, approved).
ADVANCE_QUESTIONS: list[tuple[str, str, str | None, int, bool]] = [
    ("Is an apprenticeship as respected as a degree?", "Jo", None, 6, True),
    ("Degree or apprenticeship: which is quicker to qualify?", "", None, 2, True),
    ("Are night shifts twelve hours long?", "Bea", None, 3, True),
    ("How do you sleep after a run of night shifts?", "Ali", None, 1, True),
    ("Do you need a full driving licence before you apply?", "", None, 2, True),
    ("Which driving licence categories do I need: C1 as well?", "Owen", None, 0, False),
    ("How do you look after each other after a really bad call?", "Rosa", "Dev Okafor", 3, True),
    ("What do you look for at interview for the degree?", "Priya", "Helen Price", 4, True),
    ("Do I need A-level biology?", "", "Helen Price", 2, True),
    (
        "What was your first night on the road without a mentor like?",
        "Femi",
        "Marcus Bell",
        5,
        True,
    ),
    ("Did the apprenticeship pay enough to live on?", "Sol", "Marcus Bell", 0, False),
]


async def _seed_advance_questions(actions: Actions, event_id: int, people: dict[str, int]) -> None:
    """Questions asked before the event, some put to a panelist, some waiting for moderation,
    with readers' upvotes: through the same actions readers and editors use."""
    for n, (body, name, to, upvotes, approved) in enumerate(ADVANCE_QUESTIONS):
        question, _ = await actions.post_question(
            event_id, f"demo-advance-{n}", body, name, people[to] if to else None
        )
        if approved:
            await actions.moderate(question.id, "approve", DEMO_DESK)
        for voter in range(upvotes):
            await actions.upvote(question.id, f"demo-advance-voter-{voter}")


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
    """An earlier Q&A, run on a clock set to its own afternoon, then closed and published.

    Its afternoon is played through the real actions at the minutes below, so its report
    (panel/report.py) has something to show: questions spread over both slots with a rush
    at the second's start, decisions and answers after a while, rejections with reasons,
    merges, a blocked term, upvotes and the audience sampled every minute."""
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
    await actions.set_event_rules(
        event_id, DEMO_DESK, moderation="pre", slow_mode_seconds=0, blocked_terms="scam"
    )
    afternoon = _ArchiveAfternoon(actions, event_id, people)
    afternoon.plan()
    await afternoon.play(clock, start)
    clock.set(start + 2 * hour)
    await actions.run_due_transitions(event_id)
    samples = [(event_id, at, readers) for at, readers in _audience(start).items()]
    await store.write(lambda repo: repo.add_audience_samples(samples))
    await actions.publish_transcript(
        event_id, DEMO_DESK, intro_md="Edited highlights of the live Q&A."
    )


def _audience(start: datetime) -> dict[datetime, int]:
    """Readers each minute of the two hours: a slow build, a peak as the second slot opens
    (minute 60 to 70), a long tail. Deterministic, so the report looks the same each time."""
    counts = {}
    for minute in range(120):
        build = min(minute, 60) * 3
        peak = max(0, 12 - abs(minute - 65)) * 9
        tail = max(0, minute - 70) * 2
        counts[start + timedelta(minutes=minute)] = 40 + build + peak - tail + (minute * 7) % 5
    return counts


# Questions beyond the transcript's: (key, minute, body, asked of). Negative minutes are
# advance questions, asked while the event was scheduled.
ARCHIVE_MORE = [
    ("advance-1", -1200, "Will you talk about routes for people without a degree?", None),
    ("advance-2", -300, "Is there an upper age limit for training?", "Grace Whitfield"),
    ("late-1", 63, "How many hours a week do you really work?", "Alan Reeve"),
    ("late-2", 63, "How many hours does a teacher work each week, honestly?", None),
    ("late-3", 64, "What is the pay like in your first year?", None),
    ("late-4", 64, "Did your old career help in the classroom?", "Alan Reeve"),
    ("late-5", 64, "Is it true you can buy a QTS certificate online? Seems like a scam.", None),
    ("late-6", 65, "How do you handle parents' evenings?", "Nadia Shah"),
    ("late-7", 66, "Should I do supply work first to try it out?", None),
    ("late-8", 70, "What do you wish your training had covered?", "Grace Whitfield"),
    ("late-9", 74, "Which subjects are short of teachers?", "Grace Whitfield"),
    ("late-10", 78, "My cousin is a teacher and hates it. Why should I listen to you?", None),
    ("late-11", 86, "How do you switch off in the holidays?", "Nadia Shah"),
    ("late-12", 91, "Can I keep some freelance work while teaching?", "Alan Reeve"),
    ("late-13", 97, "How much marking is there, really, week to week?", None),
    ("late-14", 104, "What is the best book for a new teacher?", None),
    ("late-15", 112, "Do schools pay for further qualifications?", "Grace Whitfield"),
    ("late-16", 117, "Any last advice for someone applying this year?", None),
]
# What happened to them: (key, minute, action, detail); "merge" names the kept question.
ARCHIVE_DECISIONS = [
    ("advance-1", 1, "approve", ""),
    ("advance-2", 2, "approve", ""),
    ("late-1", 66, "approve", ""),
    ("late-2", 67, "merge", "late-1"),
    ("late-3", 69, "approve", ""),
    ("late-4", 68, "approve", ""),
    ("late-5", 70, "reject", "Off topic"),
    ("late-6", 72, "approve", ""),
    ("late-7", 75, "approve", ""),
    ("late-8", 73, "approve", ""),
    ("late-9", 76, "approve", ""),
    ("late-10", 84, "reject", "Personal attack"),
    ("late-11", 90, "approve", ""),
    ("late-12", 95, "reject", "Off topic"),
    ("late-13", 99, "merge", "qa-2"),
    ("late-14", 109, "approve", ""),
    ("late-15", 115, "approve", ""),
]
# Answers beyond the transcript's own: (key, minute, panelist, text).
ARCHIVE_MORE_ANSWERS = [
    ("advance-1", 9, "Grace Whitfield", "Yes: see the answer on training routes below."),
    ("advance-2", 12, "Grace Whitfield", "No. Our oldest trainee this year is 61."),
    ("late-1", 79, "Alan Reeve", "About 50 in term time; fewer once your planning is built."),
    ("late-3", 88, "Grace Whitfield", "It follows the national pay scale for your area."),
    ("late-6", 83, "Nadia Shah", "Prepare one good thing to say about every child."),
    ("late-9", 94, "Grace Whitfield", "Maths, physics, computing and languages, mostly."),
]
# Upvotes per question key (from distinct readers).
ARCHIVE_VOTES = {
    "qa-0": 34, "qa-1": 21, "qa-2": 27, "qa-3": 12, "qa-4": 9, "qa-5": 41, "qa-6": 6,
    "qa-7": 15, "qa-8": 4, "qa-9": 18, "advance-1": 7, "late-1": 30, "late-3": 19,
    "late-4": 5, "late-6": 8, "late-7": 11, "late-9": 3, "late-11": 2,
}  # fmt: skip


class _ArchiveAfternoon:
    """The archived event's afternoon as (minute, step) pairs, played in time order."""

    def __init__(self, actions: Actions, event_id: int, people: dict[str, int]) -> None:
        self.actions = actions
        self.event_id = event_id
        self.people = people
        self.ids: dict[str, int] = {}
        self.steps: list[tuple[float, int, Callable[[], Awaitable[object]]]] = []

    def at(self, minute: float, step: Callable[[], Awaitable[object]]) -> None:
        self.steps.append((minute, len(self.steps), step))

    def ask(self, key: str, minute: float, body: str, to: str | None = None) -> None:
        async def step() -> None:
            q, _ = await self.actions.post_question(
                self.event_id, f"archive-{key}", body, to=self.people.get(to or "")
            )
            self.ids[key] = q.id

        self.at(minute, step)

    def decide(self, key: str, minute: float, action: str, detail: str = "") -> None:
        async def step() -> None:
            if action == "merge":
                into = self.ids[detail]
                await self.actions.moderate(self.ids[key], "merge", DEMO_DESK, into=into)
            else:
                await self.actions.moderate(self.ids[key], action, DEMO_DESK, reason=detail)

        self.at(minute, step)

    def answer(self, key: str, minute: float, by: str, text: str) -> None:
        async def step() -> None:
            await self.actions.answer(self.ids[key], text, Actor("panelist", self.people[by], by))

        self.at(minute, step)

    def plan(self) -> None:
        # The transcript's questions: one every 8 minutes, decided after 1 to 3 minutes,
        # answered 3 to 11 minutes after that.
        for index, (body, text, by) in enumerate(ARCHIVE_QA):
            asked = 8 * index + 2
            decided = asked + 1 + index % 3
            to = by if index % 2 else None
            self.ask(f"qa-{index}", asked, body, to)
            self.decide(f"qa-{index}", decided, "approve")
            self.answer(f"qa-{index}", decided + 3 + (index * 5) % 9, by, text)
        for key, minute, body, to in ARCHIVE_MORE:
            self.ask(key, minute, body, to)
        for key, minute, action, detail in ARCHIVE_DECISIONS:
            self.decide(key, minute, action, detail)
        for key, minute, by, text in ARCHIVE_MORE_ANSWERS:
            self.answer(key, minute, by, text)
        for key, votes in ARCHIVE_VOTES.items():
            self.at(119, self._votes(key, votes))

    def _votes(self, key: str, votes: int) -> Callable[[], Awaitable[object]]:
        async def step() -> None:
            # At once, so the writer commits them as one group rather than one by one.
            await asyncio.gather(
                *(self.actions.upvote(self.ids[key], f"archive-voter-{n}") for n in range(votes))
            )

        return step

    async def play(self, clock: FakeClock, start: datetime) -> None:
        """Each step at its minute (and the clock's transitions as they come due)."""
        opened = False
        for minute, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            clock.set(start + timedelta(minutes=minute))
            if minute >= 0 and not opened:
                await self.actions.run_due_transitions(self.event_id)
                opened = True
            await step()
