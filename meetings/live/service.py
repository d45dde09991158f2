"""The live meeting's rules: which case the room is on, at which stage, for how long, and its polls.

Services flush; views commit. Every change an audience would see ends with the view calling
`broadcast.publish`, which moves the state's version on.
"""
from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from meetings import audit, device
from meetings.cases import review
from meetings.cases import service as cases
from meetings.extensions import db
from meetings.governance import library
from meetings.models import (
    Case, CaseStatus, ClinicalSignificance, DiscrepancyType, LiveState, Meeting, MeetingStatus, Poll, PollKind,
    PollVote, RadpeerGrade, Stage, utcnow,
)
from meetings.web import whole_number

# Letters and digits nobody misreads on a projector across a room: no 0/o, 1/l/i.
JOIN_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
JOIN_CODE_LENGTH = 8
NOTE_FIELDS = {"discussion_notes": "Discussion notes", "learning_points": "Learning points"}
MAX_POLL_OPTIONS = 8


class LiveRuleError(Exception):
    """A live change that cannot be made now; the message says why, for the chair."""


class StaleNote(Exception):
    """The note changed since the writer last saw it. Carries what is saved now, so nothing is lost."""

    def __init__(self, saved: str):
        super().__init__("These notes were changed by someone else while you were typing")
        self.saved = saved


# --- the state ----------------------------------------------------------------------------------

def _new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def state_of(meeting: Meeting, *, for_update: bool = False) -> LiveState:
    """The meeting's live state, made on first use (it carries the join code the room needs early)."""
    query = select(LiveState).where(LiveState.meeting_id == meeting.id)
    if for_update:
        # Two consoles changing the room at once take turns (PostgreSQL; SQLite writes one at a time anyway).
        query = query.with_for_update()
    state = db.session.scalar(query)
    if state is None:
        state = LiveState(meeting=meeting, join_code=_new_join_code(), version=1, stage=Stage.QUESTION)
        db.session.add(state)
        db.session.flush()
    return state


def by_join_code(code: str) -> LiveState | None:
    return db.session.scalar(select(LiveState).where(LiveState.join_code == code.lower()))


def queue(state: LiveState) -> list[Case]:
    return cases.queue(state.meeting)


def _require_live(state: LiveState) -> None:
    if state.meeting.status != MeetingStatus.LIVE:
        raise LiveRuleError("Start the meeting first" if state.meeting.status == MeetingStatus.SCHEDULED
                            else f"This meeting is {state.meeting.status_label.lower()}")


def start(state: LiveState) -> None:
    meeting = state.meeting
    if meeting.status != MeetingStatus.SCHEDULED:
        raise LiveRuleError(f"This meeting is {meeting.status_label.lower()}; it cannot be started")
    meeting.status = MeetingStatus.LIVE
    state.started_at = utcnow()
    first = next(iter(queue(state)), None)
    if first is not None:
        show_case(state, first)
    audit.record("meeting.started", meeting)


def end(state: LiveState) -> None:
    _require_live(state)
    _leave_case(state, utcnow())
    state.meeting.status = MeetingStatus.ENDED
    state.ended_at = utcnow()
    state.case_id, state.case_shown_at = None, None
    _close_poll(state)
    db.session.flush()
    # What the room saw joins the case library now, while it is fresh.
    library.record_meeting(state.meeting)
    audit.record("meeting.ended", state.meeting)


def _leave_case(state: LiveState, now: datetime) -> None:
    """Bank the time spent on the current case before the room moves on."""
    if state.case is not None and state.case_shown_at is not None:
        state.case.presented_seconds += max(0, int((now - state.case_shown_at).total_seconds()))


def show_case(state: LiveState, case: Case) -> None:
    """Put `case` in front of the room at stage 1. Reached cases count as presented."""
    if case.meeting_id != state.meeting_id:
        raise LiveRuleError("That case is no longer in this meeting's queue")
    if state.case_id == case.id:
        return
    now = utcnow()
    _leave_case(state, now)
    clear_poll(state)  # the poll stays with its case, off the screen
    state.case, state.stage, state.case_shown_at = case, Stage.QUESTION, now
    if case.status == CaseStatus.SCHEDULED:
        case.status = CaseStatus.PRESENTED
        audit.record("case.presented", case, meeting=state.meeting_id)


def step(state: LiveState, offset: int) -> None:
    """Next (+1) or previous (-1) case in the queue."""
    _require_live(state)
    ordered = queue(state)
    if not ordered:
        raise LiveRuleError("This meeting has no cases in its queue")
    ids = [c.id for c in ordered]
    index = ids.index(state.case_id) + offset if state.case_id in ids else 0
    if not 0 <= index < len(ordered):
        raise LiveRuleError("That was the last case" if offset > 0 else "This is the first case")
    show_case(state, ordered[index])


def jump(state: LiveState, case_id: int) -> None:
    _require_live(state)
    case = db.session.get(Case, case_id)
    if case is None or case.meeting_id != state.meeting_id:
        raise LiveRuleError("That case is no longer in this meeting's queue")
    show_case(state, case)


def refresh(state: LiveState) -> None:
    """Show the room what is saved now (the learning points as agreed so far) without moving it."""
    _require_live(state)


def set_stage(state: LiveState, stage: int) -> None:
    _require_live(state)
    if state.case is None:
        raise LiveRuleError("Choose a case first")
    if stage not in {s.value for s in Stage}:
        raise LiveRuleError("There are four stages, 1 to 4")
    state.stage = stage


def case_seconds(state: LiveState, case: Case, now: datetime | None = None) -> int:
    """Time spent on `case` so far, including the stretch running now if it is on screen."""
    seconds = case.presented_seconds
    if state.case_id == case.id and state.case_shown_at is not None:
        seconds += int(((now or utcnow()) - state.case_shown_at).total_seconds())
    return max(0, seconds)


def running_seconds(state: LiveState, now: datetime | None = None) -> int:
    """How long the meeting has been running (or ran, once ended)."""
    if state.started_at is None:
        return 0
    return max(0, int(((state.ended_at or now or utcnow()) - state.started_at).total_seconds()))


# --- notes and outcome --------------------------------------------------------------------------

def note_digest(text: str) -> str:
    """What a writer's copy of a note is checked against: a digest of the text they started from."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def save_note(case: Case, field: str, text: str, base_digest: str, *, keep_both: bool = False) -> None:
    """Save one of NOTE_FIELDS, unless someone else saved it since the writer's copy (`StaleNote`).

    `keep_both` settles a conflict the writer was shown (`base_digest` is then theirs): their text, then
    the writer's.
    """
    saved = getattr(case, field)
    if keep_both and note_digest(saved) == base_digest:
        text = f"{saved.rstrip()}\n\n{text.lstrip()}" if saved.strip() and text.strip() else saved + text
    if note_digest(saved) != base_digest and saved != text:
        raise StaleNote(saved)
    setattr(case, field, text)


@dataclass(frozen=True)
class Outcome:
    discrepancy_type: str | None
    clinical_significance: str | None
    great_pickup: bool
    radpeer_grade: str | None


def set_outcome(case: Case, outcome: Outcome) -> None:
    def allowed(value, enum):
        return value if value in {member.value for member in enum} else None

    case.discrepancy_type = allowed(outcome.discrepancy_type, DiscrepancyType)
    case.clinical_significance = allowed(outcome.clinical_significance, ClinicalSignificance)
    case.great_pickup = outcome.great_pickup
    # A grade is kept only where the case's site grades; switching grading off hides, never invents, one.
    if case.site.radpeer_enabled and not case.is_regional:
        case.radpeer_grade = allowed(outcome.radpeer_grade, RadpeerGrade)
    library.record(case)  # classified after the meeting ended: the library's filters follow


# --- polls --------------------------------------------------------------------------------------

def open_poll(state: LiveState, question: str, kind: str, options: list[str]) -> Poll:
    _require_live(state)
    if state.case is None:
        raise LiveRuleError("Choose a case first")
    if state.stage != Stage.QUESTION:
        raise LiveRuleError("Polls are asked at stage 1, before the room sees the report")
    if review.state_of(state.case) is not review.ReviewState.REVIEWED:
        raise LiveRuleError("Approve this case's anonymisation before asking the room about it")
    # The room would see the question and answers withheld, as they could not be checked for identifiers.
    review.require_identifiers([state.case])
    question = question.strip()
    if not question:
        raise LiveRuleError("Enter the question to ask the room")
    options = [o.strip() for o in options if o.strip()]
    if kind == PollKind.CHOICE and not 2 <= len(options) <= MAX_POLL_OPTIONS:
        raise LiveRuleError(f"Give between 2 and {MAX_POLL_OPTIONS} answers to choose from, one per line")
    _close_poll(state)
    poll = Poll(meeting_id=state.meeting_id, case_id=state.case_id, question=question[:300],
                kind=PollKind(kind), options=options if kind == PollKind.CHOICE else [])
    db.session.add(poll)
    db.session.flush()
    state.poll = poll
    return poll


def _close_poll(state: LiveState) -> None:
    if state.poll is not None and state.poll.is_open:
        state.poll.is_open, state.poll.closed_at = False, utcnow()


def close_poll(state: LiveState) -> None:
    _require_live(state)
    if state.poll is None:
        raise LiveRuleError("There is no poll to close")
    _close_poll(state)


def show_results(state: LiveState, shown: bool) -> None:
    _require_live(state)
    if state.poll is None:
        raise LiveRuleError("There is no poll")
    state.poll.results_shown = shown


def clear_poll(state: LiveState) -> None:
    """Take the poll off the screen; it and its answers stay with the case."""
    _close_poll(state)
    state.poll = None


def has_voted(poll: Poll, device_token: str) -> bool:
    return db.session.scalar(select(PollVote.id).where(PollVote.poll_id == poll.id,
                                                       PollVote.device == device.digest(device_token))) is not None


def vote(poll: Poll, device_token: str, choice: str | None, answer: str | None) -> None:
    """Record one anonymous answer. A device answers once; the unique constraint makes that hold under a burst."""
    if not poll.is_open:
        raise LiveRuleError("This poll has closed")
    if poll.kind == PollKind.CHOICE:
        if not whole_number(choice) or int(choice) >= len(poll.options):
            raise LiveRuleError("Choose one of the answers")
        row = PollVote(poll_id=poll.id, device=device.digest(device_token), choice=int(choice))
    else:
        answer = (answer or "").strip()
        if not answer:
            raise LiveRuleError("Type a short answer")
        if len(answer) > 280:
            raise LiveRuleError("Keep the answer to 280 characters")
        row = PollVote(poll_id=poll.id, device=device.digest(device_token), answer=answer)
    db.session.add(row)


def vote_count(poll: Poll) -> int:
    return db.session.scalar(select(func.count(PollVote.id)).where(PollVote.poll_id == poll.id)) or 0


@dataclass(frozen=True)
class PollResult:
    label: str
    votes: int
    percent: int


def results(poll: Poll) -> list[PollResult]:
    """Votes per option, in the options' order. Free-text polls are answered by `answers`."""
    counts = Counter(v.choice for v in poll.votes)
    total = sum(counts.values())
    return [PollResult(option, counts[i], round(100 * counts[i] / total) if total else 0)
            for i, option in enumerate(poll.options)]


def answers(poll: Poll) -> list[str]:
    """Free-text answers, raw: whoever shows them to a room scrubs them first."""
    return [v.answer for v in poll.votes if v.answer]
