"""The chair's anonymisation review, the redaction of images, and "what the room will see"."""
from __future__ import annotations

import hashlib

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from meetings.anonymise.case import FIELD_LABELS, REVIEWED_FIELDS
from meetings.anonymise.text import pieces
from meetings.cases import access, review, service
from meetings.extensions import db
from meetings.governance import library
from meetings.live import broadcast, slides
from meetings.models import Case
from meetings.web import is_htmx, plural, png_response

bp = Blueprint("review", __name__)


def _page(case: Case, redact: list[str], keep: list[str], status: int = 200, box_error: str | None = None,
          box_image_id: int | None = None, typed: dict | None = None):
    scrubbed = review.preview(case, redact, keep)
    originals = review.reviewed_texts(case)
    texts = {key: pieces(originals[key], result.findings) for key, result in scrubbed.items()}
    restorable = sorted({originals[key][f.start:f.end] for key, result in scrubbed.items()
                         for f in result.findings if not f.own} | set(keep), key=str.casefold)
    # Ids that stay put as the list changes, so a swap keeps focus on the box just ticked.
    restorable = [("keep-" + hashlib.sha1(term.encode()).hexdigest()[:10], term) for term in restorable]
    image_sizes = {image.id: review.png_size(review.anonymised_png(image)) for image in case.images}
    template = "cases/_review_texts.html" if is_htmx() and request.method == "POST" else "cases/review.html"
    return render_template(
        template, case=case, state=review.state_of(case), texts=texts, labels=FIELD_LABELS,
        fields=REVIEWED_FIELDS, redact=redact, keep=keep, restorable=restorable,
        findings=sum(len(r.findings) for r in scrubbed.values()), box_error=box_error, box_image_id=box_image_id,
        image_sizes=image_sizes, typed=typed, seen=review.fingerprint(case, images=False),
    ), status


def _choices() -> tuple[list[str], list[str]]:
    return review.clean_terms(request.form.get("redact", "")), review.clean_terms(request.form.getlist("keep"))


def _saved_choices(case: Case) -> tuple[list[str], list[str]]:
    return (case.review.redact, case.review.keep) if case.review else ([], [])


@bp.route("/cases/<int:case_id>/review", methods=["GET", "POST"])
@login_required
def page(case_id: int):
    case = access.case_or_404(case_id, access.can_review)
    if request.method == "GET":
        response = _page(case, *_saved_choices(case))
        db.session.commit()  # keeps anonymised images made for the first time
        return response
    redact, keep = _choices()
    if request.form.get("action") == "approve":
        try:
            review.approve(case, current_user, redact, keep, request.form.get("seen", ""))
        except review.ChangedWhileReviewing:
            db.session.rollback()
            flash("The case was changed while you were reviewing it. Check the new version below, "
                  "then approve it.", "error")
            return _page(case, redact, keep, 409)
        broadcast.case_changed(case)
        library.record(case)  # a case approved again after its meeting: the library shows the new wording
        db.session.commit()
        flash("Anonymisation approved. This version of the case can be presented.", "success")
        return redirect(url_for("review.page", case_id=case.id), code=303)
    review.save_choices(case, redact, keep)
    db.session.commit()
    return _page(case, redact, keep)


@bp.post("/cases/<int:case_id>/images/<int:image_id>/boxes")
@login_required
def boxes(case_id: int, image_id: int):
    """Save the redaction boxes drawn on an image (JSON from the drawing tool, or one box typed in)."""
    case = access.case_or_404(case_id, access.can_review)
    image = service.image_of(case, image_id)
    if image is None:
        abort(404)
    width, height = review.png_size(review.anonymised_png(image))
    try:
        if "boxes" in request.form:
            drawn = review.parse_boxes(request.form["boxes"], width, height)
        else:
            drawn = review.typed_box(image.redaction_boxes, request.form, width, height)
    except ValueError as error:
        if is_htmx():
            return render_template("cases/_redaction_editor.html", case=case, image=image, size=(width, height),
                                   box_error=str(error), box_image_id=image.id, typed=request.form), 422
        return _page(case, *_saved_choices(case), 422, box_error=str(error), box_image_id=image.id,
                     typed=request.form)
    review.set_boxes(image, drawn)
    broadcast.case_changed(case)
    db.session.commit()
    said = _boxes_said(drawn, review.state_of(case))
    if is_htmx():
        return render_template("cases/_redaction_editor.html", case=case, image=image,
                               size=review.png_size(image.anonymised), announcement=said)
    flash(said, "success")
    return redirect(url_for("review.page", case_id=case.id, _anchor=f"image-{image.id}"), code=303)


def _boxes_said(drawn: list, state: review.ReviewState) -> str:
    count = len(drawn)
    said = f"Saved: {count} black {plural(count, 'box', 'boxes')} on this image."
    return said + (" Approve the case again before it is presented." if state is review.ReviewState.CHANGED else "")


@bp.get("/cases/<int:case_id>/images/<int:image_id>/anonymised.png")
@login_required
def anonymised_image(case_id: int, image_id: int):
    """The anonymised PNG: for reviewers always, for the meeting's audience once the case is approved."""
    case = access.case_or_404(case_id, lambda user, c: access.can_review(user, c) or (
        access.can_watch(user, c) and review.state_of(c) is review.ReviewState.REVIEWED))
    return anonymised_image_response(case, image_id)


def anonymised_image_response(case: Case, image_id: int):
    """One of the case's images, anonymised, for a caller that has checked who may see it; 404 if the case
    has no such image. Also serves the audience's phones (meetings.live.views.audience_image)."""
    image = service.image_of(case, image_id)
    if image is None:
        abort(404)
    png = review.anonymised_png(image)
    db.session.commit()  # keeps a PNG made for the first time
    return png_response(png)


@bp.get("/cases/<int:case_id>/presentation")
@login_required
def presentation(case_id: int):
    """The case exactly as the room will see it; refused until its anonymisation is approved."""
    case = access.case_or_404(case_id, access.can_review)
    try:
        shown = review.anonymised_case(case)
    except review.NotReviewed as refusal:
        return render_template("cases/not_reviewed.html", case=case, state=refusal.state), 409
    return render_template("audience/presentation_preview.html", slide=slides.preview(shown, case.meeting),
                           case_id=case.id)
