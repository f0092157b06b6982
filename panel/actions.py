"""Every action of the product, gathered by noun: `Actions` builds the noun services on one
store and clock and keeps the flat names (`actions.moderate(...)`) that the demo, the CLI and
the tests call. Each service lives in its own module and inherits from nothing:

| service | module | actions |
|---|---|---|
| `questions` | panel/questions.py | post |
| `votes` | panel/votes.py | upvote, announcing counts |
| `moderation` | panel/moderation.py | moderate (ten actions), ban, ban-and-reject, lift a ban |
| `answers` | panel/answers.py | answer, edit, withdraw |
| `events` | panel/events.py | create, edit, duplicate, delete, rules, status |
| `schedule` | panel/schedule.py | slots, the clock's transitions |
| `roster` | panel/roster.py | panelists, the panel, invites |
| `accounts` | panel/accounts.py | editors, sign-in and lockout, passwords, roles, API tokens |
| `sessions` | panel/sessions.py | finding a staff session, signing out |
| `transcripts` | panel/transcripts.py | curation, publish, republish, unpublish |
| `drafts` | panel/drafts.py | panelists' drafts and claims |
| `backstage` | panel/backstage.py | notes between editors and panelists |
| `undo` | panel/undo.py | undo an editor's own destructive action within seconds |
"""

from __future__ import annotations

from collections.abc import Callable

from panel.accounts import Accounts
from panel.answers import Answers
from panel.backstage import Backstage
from panel.clock import Clock
from panel.config import Settings
from panel.domain import Actor
from panel.drafts import Drafts
from panel.events import Events
from panel.lockouts import Lockouts
from panel.moderation import Moderation
from panel.presence import DeskPresence
from panel.questions import Questions
from panel.reports import Reports
from panel.roster import Roster
from panel.schedule import Schedule
from panel.sessions import SessionsEnded, StaffSessions
from panel.store import Store
from panel.transcripts import Transcripts
from panel.undo import Undo
from panel.votes import Votes


class Actions:
    def __init__(
        self, store: Store, clock: Clock, settings: Settings, lockouts: Lockouts | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.questions = Questions(store, clock, settings)
        self.votes = Votes(store, clock, settings)
        self.moderation = Moderation(store, clock, settings)
        self.answers = Answers(store, clock, settings)
        self.events = Events(store, clock, settings)
        self.schedule = Schedule(store, clock, settings)
        self.roster = Roster(store, clock, settings)
        self.accounts = Accounts(store, clock, settings, lockouts)
        self.sessions = StaffSessions(store, clock, settings)
        self.transcripts = Transcripts(store, clock, settings)
        self.drafts = Drafts(store, clock, settings)
        self.backstage = Backstage(store, clock, settings)
        self.undo = Undo(store, clock, settings)
        self.presence = DeskPresence(store, clock, settings)
        self.reports = Reports(store, clock, settings)
        # The flat names: the same bound methods.
        self.check_question = self.questions.check
        self.post_question = self.questions.post
        self.upvote = self.votes.upvote
        self.moderate = self.moderation.moderate
        self.ban_author = self.moderation.ban_author
        self.ban_and_reject = self.moderation.ban_and_reject
        self.lift_ban = self.moderation.lift_ban
        self.answer = self.answers.answer
        self.edit_answer = self.answers.edit
        self.withdraw_answer = self.answers.withdraw
        self.create_event = self.events.create
        self.update_event = self.events.update
        self.duplicate_event = self.events.duplicate
        self.delete_event = self.events.delete
        self.set_event_rules = self.events.set_rules
        self.set_status = self.events.set_status
        self.add_slot = self.schedule.add_slot
        self.update_slot = self.schedule.update_slot
        self.delete_slot = self.schedule.delete_slot
        self.run_due_transitions = self.schedule.run_due_transitions
        self.add_panelist = self.roster.add_panelist
        self.save_panelist = self.roster.save_panelist
        self.create_and_assign = self.roster.create_and_assign
        self.assign_panelist = self.roster.assign
        self.unassign_panelist = self.roster.unassign
        self.create_invite = self.roster.create_invite
        self.redeem_invite = self.roster.redeem_invite
        self.revoke_invite = self.roster.revoke_invite
        self.create_editor = self.accounts.create_editor
        self.sign_in = self.accounts.sign_in
        self.change_password = self.accounts.change_password
        self.set_editor_disabled = self.accounts.set_disabled
        self.remove_editor = self.accounts.remove_editor
        self.unlock_editor = self.accounts.unlock
        self.set_editor_role = self.accounts.set_editor_role
        self.create_api_token = self.accounts.create_api_token
        self.revoke_api_token = self.accounts.revoke_api_token

    @property
    def on_schedule_change(self) -> Callable[[], None]:
        """Called after a change to an event's times or status (the scheduler looks again)."""
        return self.events.on_schedule_change

    @on_schedule_change.setter
    def on_schedule_change(self, callback: Callable[[], None]) -> None:
        self.events.on_schedule_change = callback
        self.schedule.on_schedule_change = callback
        self.undo.on_schedule_change = callback

    @property
    def on_sessions_ended(self) -> SessionsEnded:
        """Awaited after a commit that ended staff sessions, with their ids (open sockets
        close: panel/live/signouts.py)."""
        return self.sessions.on_sessions_ended

    @on_sessions_ended.setter
    def on_sessions_ended(self, callback: SessionsEnded) -> None:
        self.sessions.on_sessions_ended = callback
        self.accounts.on_sessions_ended = callback
        self.roster.on_sessions_ended = callback

    async def publish_transcript(
        self, event_id: int, actor: Actor, intro_md: str = "", outro_md: str = ""
    ) -> None:
        """Publish a closed event's transcript as curated; empty notes keep the curated ones."""
        await self.transcripts.publish(
            event_id, actor, intro_md=intro_md or None, outro_md=outro_md or None
        )
