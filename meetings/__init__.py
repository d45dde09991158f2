"""Lightbox: radiology REAL meetings, run live from the case queue to the published minutes."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from meetings import config, identifier_key
from meetings.extensions import csrf, db, limiter, login_manager, migrate
from meetings.live.followers import FollowerPolls, follower_engine


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app. `overrides` (tests) win over the environment."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    # WeasyPrint templates live in pdf/ at the top level, addressed as "pdf/...".
    app.jinja_loader = ChoiceLoader(
        [app.jinja_loader, PrefixLoader({"pdf": FileSystemLoader(Path(app.root_path).parent / "pdf")})]
    )
    app.config.update(config.load(app.instance_path))
    if overrides:
        app.config.update(overrides)

    identifier_key.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from meetings import cli, security, web
    from meetings.actions.views import bp as actions_bp
    from meetings.admin.views import bp as admin_bp
    from meetings.auth.views import bp as auth_bp
    from meetings.calendar.views import bp as calendar_bp
    from meetings.cases.review_views import bp as review_bp
    from meetings.cases.views import bp as cases_bp
    from meetings.feedback.views import bp as feedback_bp
    from meetings.governance.library_views import bp as library_bp
    from meetings.governance.views import bp as governance_bp
    from meetings.home.views import bp as home_bp
    from meetings.live.views import bp as live_bp
    from meetings.minutes.views import bp as minutes_bp
    from meetings.register.views import bp as register_bp
    from meetings.schedule.views import bp as schedule_bp

    security.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    for blueprint in (auth_bp, home_bp, cases_bp, review_bp, live_bp, register_bp, admin_bp, actions_bp,
                      minutes_bp, schedule_bp, calendar_bp, feedback_bp, governance_bp, library_bp):
        app.register_blueprint(blueprint)
    app.wsgi_app = FollowerPolls(app.wsgi_app, follower_engine(app.config["SQLALCHEMY_DATABASE_URI"]),
                                  app.config["LIVE_VERSION_CACHE_SECONDS"])
    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer every request comes from it: rate limits must see the client's address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=app.config["TRUSTED_PROXIES"])
    return app
