"""Sign in, sign out, and accepting an invitation."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from meetings import audit
from meetings.auth import service
from meetings.auth.forms import SetPasswordForm, SignInForm
from meetings.extensions import db, limiter
from meetings.home.views import home_url
from meetings.security import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            audit.record("user.signed_in", user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or home_url(user), code=303)
        error = "The email address or password is not right. Check both and try again."
    status = 401 if error else (422 if form.errors else 200)
    return render_template("auth/sign_in.html", form=form, error=error), status


@bp.post("/sign-out")
@login_required
def sign_out():
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.sign_in"), code=303)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    user = service.user_for_invite(token)
    if user is None:
        return render_template("auth/invite_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        user.set_password(form.password.data)
        audit.record("user.accepted_invite", user)
        db.session.commit()
        login_user(user)
        flash("Your password is set. Welcome to Lightbox.", "success")
        return redirect(home_url(user), code=303)
    return render_template("auth/accept_invite.html", form=form, user=user), 422 if form.errors else 200
