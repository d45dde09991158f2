"""The Slide: what the room sees right now, built only from anonymised parts.

Projector and audience templates receive a Slide and nothing else about the case, as the presentation
preview receives an AnonymisedCase.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from meetings.anonymise.case import AnonymisedCase
from meetings.cases import review
from meetings.cases import service as cases
from meetings.live import service
from meetings.register import service as registers
from meetings.models import Case, LiveState, Meeting, MeetingStatus, Poll, PollKind, Stage


@dataclass(frozen=True)
class PollView:
    id: int
    question: str
    is_choice: bool
    options: tuple[str, ...]
    is_open: bool
    results_shown: bool
    results: tuple[service.PollResult, ...]
    answers: tuple[str, ...]  # free-text answers, scrubbed
    total: int


@dataclass(frozen=True)
class Slide:
    version: int
    join_code: str
    meeting_title: str
    status: str  # the meeting's status: scheduled, live, ended
    stage: Stage
    number: int | None
    total: int
    case: AnonymisedCase | None
    # The current case is not (or no longer) approved for the room, so a holding slide shows instead.
    held_back: bool
    poll: PollView | None
    register: str = "unopened"  # the attendance register: unopened, open or closed


def poll_view(poll: Poll) -> PollView:
    """The poll as the room sees it: the chair's wording and the room's answers scrubbed like notes."""
    def room(text: str) -> str:
        return review.shown_room_text(poll.case, text)

    return PollView(
        id=poll.id, question=room(poll.question), is_choice=poll.kind == PollKind.CHOICE,
        options=tuple(room(option) for option in poll.options),
        is_open=poll.is_open, results_shown=poll.results_shown,
        results=tuple(service.PollResult(room(r.label), r.votes, r.percent) for r in service.results(poll)),
        answers=tuple(room(answer) for answer in service.answers(poll)),
        total=len(poll.votes),
    )


def preview(case: AnonymisedCase, meeting: Meeting | None) -> Slide:
    """The whole of an approved case as the room will have seen it by stage 4, for the chair to check."""
    return Slide(
        version=0, join_code="", meeting_title=meeting.title if meeting else "", status=MeetingStatus.LIVE,
        stage=Stage.LEARNING, number=case.number, total=len(cases.queue(meeting)) if meeting else 1, case=case,
        held_back=False, poll=None,
    )


def slide_for(state: LiveState, queue: list[Case] | None = None) -> Slide:
    """The room's view of `state`. Images link through the join code, so guests without accounts see them.
    `queue` is the meeting's queue when the caller has it already."""
    meeting, case = state.meeting, state.case
    anonymised, held_back = None, False
    if case is not None:
        try:
            anonymised = review.anonymised_case(case, lambda image_id: url_for(
                "live.audience_image", code=state.join_code, image_id=image_id))
        except review.NotReviewed:
            held_back = True
    queue = service.queue(state) if queue is None else queue
    return Slide(
        version=state.version, join_code=state.join_code, meeting_title=meeting.title, status=meeting.status,
        stage=Stage(state.stage), number=next((i + 1 for i, c in enumerate(queue) if c.id == state.case_id), None),
        total=len(queue), case=anonymised, held_back=held_back,
        poll=poll_view(state.poll) if state.poll is not None and anonymised is not None else None,
        register=registers.status_of(meeting),
    )
