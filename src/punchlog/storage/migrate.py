"""Schema migrations (Alembic), driven programmatically: ``punchlog init`` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from punchlog.storage.database import READONLY

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema; idempotent."""
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (tests of a migration's way back)."""
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def check(engine: Engine) -> None:
    """Raise if the tables in ``tables.py`` differ from what the migrations build."""
    config = _config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn.execution_options(**{READONLY: True})
        command.check(config)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from ``tables.py`` (a developer chore: ``make migration``)."""
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)
