"""Piccolo's configuration: the engine from DATABASE_URL and the registry of domain apps."""

import os

from piccolo.conf.apps import AppRegistry

from app.core.db import engine_from_url

DB = engine_from_url(os.environ.get("DATABASE_URL", "sqlite:///var/guichet.sqlite3"))

APP_REGISTRY = AppRegistry(
    apps=[
        "app.core.piccolo_app",
        "app.accounts.piccolo_app",
        "app.funders.piccolo_app",
        "app.organisations.piccolo_app",
        "app.calls.piccolo_app",
        "app.applications.piccolo_app",
        "app.reviews.piccolo_app",
        "app.grants.piccolo_app",
        "app.decisions.piccolo_app",
    ]
)
