"""Accounts: staff users, roles and grants, API tokens, browser sessions, sign-in pages, the start page and its
navigation, and the audit log's API."""

from gisserver.core.features import Feature

FEATURE = Feature(
    name="accounts",
    package="gisserver.accounts",
    blueprints=("gisserver.accounts.navigation:bp", "gisserver.accounts.pages:bp", "gisserver.accounts.api:bp"),
    commands=("gisserver.accounts.cli:users", "gisserver.accounts.cli:tokens"),
    models=("gisserver.accounts.models",),
    migrations=("migrations",),
    openapi=("gisserver.accounts.openapi:document",),
)
