"""The long-lived objects of one running app, built by create_app and opened by its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from panel.accounts import Accounts
from panel.actions import Actions
from panel.answers import Answers
from panel.backstage import Backstage
from panel.clock import Clock
from panel.config import Settings
from panel.digest_mail import DigestMail
from panel.drafts import Drafts
from panel.events import Events
from panel.live import protocol
from panel.live.audience import Audience
from panel.live.broker import Broker, event_of, mark
from panel.live.caps import SocketCaps
from panel.live.counts import CountsAnnouncer
from panel.live.directory import EventDirectory
from panel.live.hub import Hub
from panel.live.publisher import Publisher
from panel.live.signouts import SESSIONS_CHANNEL, Signouts
from panel.mail.config import MailConfig, mail_config
from panel.metrics import LiveSources, Metrics
from panel.moderation import Moderation
from panel.outbox import Outbox
from panel.questions import Questions
from panel.roster import Roster
from panel.sampling import AudienceSampler
from panel.schedule import Schedule
from panel.scheduler import SCHEDULE_CHANNEL, Scheduler
from panel.security import Limiter
from panel.sessions import StaffSessions
from panel.shared import Shared, shared_for
from panel.store import Store, store_for_url
from panel.tasks import cancel_and_wait
from panel.transcripts import Transcripts
from panel.votes import Votes

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    store: Store
    hub: Hub
    directory: EventDirectory  # slug -> visible event, for the readers' socket connect
    broker: Broker
    publisher: Publisher
    actions: Actions  # every action, by noun (below) and by its flat name
    questions: Questions
    votes: Votes
    moderation: Moderation
    answers: Answers
    events: Events
    schedule: Schedule
    roster: Roster
    accounts: Accounts
    sessions: StaffSessions
    signouts: Signouts
    transcripts: Transcripts
    drafts: Drafts
    backstage: Backstage
    scheduler: Scheduler
    shared: Shared  # what several processes share (in Redis), or this process alone
    audience: Audience
    reader_limiter: Limiter
    ip_limiter: Limiter
    login_limiter: Limiter
    upvote_limiter: Limiter
    counts: CountsAnnouncer
    report_limiters: tuple[Limiter, Limiter]  # per reader, per IP
    socket_caps: SocketCaps  # live sockets per address and in all, in this process
    metrics: Metrics  # /metrics: this app's registry (panel/metrics.py)
    # Email (issue 17): the digest by email, now or scheduled; the mail settings and the
    # sending task, None when LIVEPANEL_SMTP_URL and LIVEPANEL_MAIL_FROM are not set.
    digest_mail: DigestMail
    sampler: AudienceSampler  # the audience into the store once a minute, for the report
    mail: MailConfig | None = None
    outbox: Outbox | None = None  # the sending task; `outbox.backlog` is for /metrics
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Per public channel: its audience in the other processes, as of the last tick.
    elsewhere: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, clock: Clock) -> Services:
        store = store_for_url(settings.db_url)
        shared = shared_for(settings, clock)
        broker = shared.broker
        hub = Hub(
            store,
            broker,
            clock,
            settings.send_queue_frames,
            settings.ring_frames,
            settings.replay_cache_bytes,
            settings.replay_log_reads,
            queue_bytes=settings.live_unread_bytes,
        )
        actions = Actions(store, clock, settings, shared.lockouts)
        scheduler = Scheduler(store, actions.schedule, clock)
        actions.on_schedule_change = scheduler.poke
        signouts = Signouts(broker)
        actions.on_sessions_ended = signouts.announce
        publisher = Publisher(broker)
        socket_caps = SocketCaps(settings.max_sockets_per_ip, settings.max_sockets)
        metrics = Metrics(LiveSources(hub, publisher, socket_caps, store))
        store.commit_observer = metrics.observe_commit
        scheduler.lag_observer = metrics.observe_lag
        mail = mail_config(settings)  # ValueError (one line) for unusable mail settings
        outbox = Outbox(store, clock, settings, mail) if mail else None
        digest_mail = DigestMail(store, clock, mail, outbox)
        digest_mail.on_schedule_change = scheduler.poke
        scheduler.duties.append(digest_mail.send_due)
        if outbox is not None:
            metrics.set_outbox_backlog_source(lambda: outbox.backlog)
        return cls(
            settings=settings,
            clock=clock,
            store=store,
            hub=hub,
            directory=EventDirectory(store),
            broker=broker,
            publisher=publisher,
            actions=actions,
            questions=actions.questions,
            votes=actions.votes,
            moderation=actions.moderation,
            answers=actions.answers,
            events=actions.events,
            schedule=actions.schedule,
            roster=actions.roster,
            accounts=actions.accounts,
            sessions=actions.sessions,
            signouts=signouts,
            transcripts=actions.transcripts,
            drafts=actions.drafts,
            backstage=actions.backstage,
            scheduler=scheduler,
            shared=shared,
            audience=shared.audience,
            reader_limiter=shared.limiter("reader", settings.questions_per_minute_reader),
            ip_limiter=shared.limiter("ip", settings.questions_per_minute_ip),
            login_limiter=shared.limiter("login", 10),
            upvote_limiter=shared.limiter("upvote", settings.upvotes_per_minute_ip),
            counts=CountsAnnouncer(store, broker, clock, settings.counts_frame_seconds),
            report_limiters=(
                shared.limiter("report-reader", settings.reports_per_minute_reader),
                shared.limiter("report-ip", settings.reports_per_minute_ip),
            ),
            socket_caps=socket_caps,
            metrics=metrics,
            mail=mail,
            outbox=outbox,
            digest_mail=digest_mail,
            sampler=AudienceSampler(store, clock, lambda: scheduler.leader),
        )

    @property
    def frames_published(self) -> int:
        """Public frames handed to the broker, for /metrics."""
        return self.publisher.published

    async def _announce_audience(self) -> None:
        """The presence tick. Audience counts (summed over processes) go out on a timer, and
        only when they changed, never per join. Each followed event also gets a mark with
        its last seq, so a frame the broker lost is read from the log even if it was the
        event's last one."""
        last: dict[str, int] = {}
        while True:
            await asyncio.sleep(self.settings.presence_interval)
            try:
                channels = self.hub.channels("event:")
                here = {c: self.hub.readers(c) for c in channels}
                # Once a minute, the lease holder also counts every live event's audience
                # (an event with no socket here has readers elsewhere, or none) to store it.
                sample = await self.sampler.due()
                for channel in sample[1] if sample else ():
                    here.setdefault(channel, [])
                totals = await self.audience.totals(here)
                if sample:
                    await self.sampler.record(*sample, totals)
                await self._mark_log_ends(channels)
            except Exception:
                log.exception("presence tick failed")  # the next tick tries again
                continue
            totals = {c: totals[c] for c in channels}
            self.elsewhere = {c: max(0, totals[c] - len(here[c])) for c in totals}
            last = {c: n for c, n in last.items() if c in totals}
            for channel, count in totals.items():
                if last.get(channel) != count:
                    last[channel] = count
                    text = protocol.unlogged(
                        protocol.PRESENCE, {"audience": count}, self.clock.now()
                    )
                    self.hub.send_local(channel, text)

    def audience_of(self, channel: str) -> int:
        """The audience now: this process's sockets, and the others' as of the last tick."""
        return self.hub.count(channel) + self.elsewhere.get(channel, 0)

    async def _mark_log_ends(self, channels: list[str]) -> None:
        """Tell each followed public channel where its log ends (one read for all), and
        whether forget-reader has rewritten it since this process loaded its ring."""
        ends: list[tuple[str, int, int]] = []
        async with self.store.read() as repo:
            for channel in channels:
                event_id = event_of(channel)
                if event_id is not None:
                    ends.append((channel, *await repo.log_state(event_id)))
        for channel, seq, rewrites in ends:
            self.hub.log_rewritten(channel, rewrites, seq)
            await self.broker.publish(channel, mark(seq))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Services]:
        """Open the store, start the broker, the publisher, the scheduler, the audience
        counter, the vote tally, the sign-out follower and (with email) the outbox; on the
        way out, stop them and every channel the hub follows."""
        await self.store.open()
        # The writer only hands committed frames over; the publisher task fans them out.
        self.store.on_commit(self.publisher.hand_over)
        self.store.on_commit(self.directory.forget_changed)
        self.store.on_commit(self.counts.changed)
        await self.broker.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                # Subscribed before anything is served, so no sign-out can be missed.
                signouts = await stack.enter_async_context(self.broker.subscribe(SESSIONS_CHANNEL))
                pokes = await stack.enter_async_context(self.broker.subscribe(SCHEDULE_CHANNEL))
                stack.push_async_callback(self._stop_tasks)
                # Answers written before their HTML was stored get it now, once (migration 0005).
                await self.answers.render_missing()
                for name, coro in (
                    ("publisher", self.publisher.run()),
                    ("scheduler", self.scheduler.run()),
                    ("schedule-relay", self.scheduler.relay_pokes(self.broker)),
                    ("schedule-follow", self.scheduler.follow_pokes(pokes)),
                    ("audience", self._announce_audience()),
                    ("votes", self.votes.run()),
                    ("counts", self.counts.run()),
                    ("signouts", self.signouts.follow(signouts)),
                    *([("outbox", self.outbox.run())] if self.outbox else []),
                ):
                    task = asyncio.create_task(coro, name=name)
                    task.add_done_callback(_report_crash)
                    self.tasks.append(task)
                yield self
        finally:
            await self._stop_tasks()
            await self.hub.close()
            await self.broker.stop()
            await self.shared.close()
            await self.store.close()

    async def _stop_tasks(self) -> None:
        await cancel_and_wait(self.tasks)
        self.tasks.clear()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s died", task.get_name(), exc_info=task.exception())
