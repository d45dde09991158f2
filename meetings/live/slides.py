"""The Slide: what the room sees right now, built only from anonymised parts.

Projector and audience templates receive a Slide and nothing else about the case, as the presentation
preview receives an AnonymisedCase.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from meetings.anonymise.case import AnonymisedCase
from meetings.cases import review
from meetings.live import service
from meetings.models import LiveState, Poll, PollKind, Stage


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


def poll_view(poll: Poll) -> PollView:
    """The poll as the room sees it: the chair's wording and the room's answers scrubbed like notes."""
    def room(text: str) -> str:
        return review.room_text(poll.case, text)

    return PollView(
        id=poll.id, question=room(poll.question), is_choice=poll.kind == PollKind.CHOICE,
        options=tuple(room(option) for option in poll.options),
        is_open=poll.is_open, results_shown=poll.results_shown,
        results=tuple(service.PollResult(room(r.label), r.votes, r.percent) for r in service.results(poll)),
        answers=tuple(room(answer) for answer in service.answers(poll)),
        total=len(poll.votes),
    )


def slide_for(state: LiveState) -> Slide:
    """The room's view of `state`. Images link through the join code, so guests without accounts see them."""
    meeting, case = state.meeting, state.case
    anonymised, held_back = None, False
    if case is not None:
        try:
            anonymised = review.anonymised_case(case, lambda image_id: url_for(
                "live.audience_image", code=state.join_code, image_id=image_id))
        except review.NotReviewed:
            held_back = True
    queue = service.queue(state)
    return Slide(
        version=state.version, join_code=state.join_code, meeting_title=meeting.title, status=meeting.status,
        stage=Stage(state.stage), number=next((i + 1 for i, c in enumerate(queue) if c.id == state.case_id), None),
        total=len(queue), case=anonymised, held_back=held_back,
        poll=poll_view(state.poll) if state.poll is not None and anonymised is not None else None,
    )
