"""The device database: SQLAlchemy models, engine helpers, Alembic migrations, the Recorder, queries."""

from labrram.db.engine import default_database_path, make_engine, open_database, resolve_database_url
from labrram.db.migrate import current_revision, head_revision, upgrade
from labrram.db.queries import Selection, export_run, pulses, reads, results, runs, stale_runs
from labrram.db.recorder import Recorder, ResumePoint, record_run

__all__ = [
    "Recorder",
    "ResumePoint",
    "Selection",
    "current_revision",
    "default_database_path",
    "export_run",
    "head_revision",
    "make_engine",
    "open_database",
    "pulses",
    "reads",
    "record_run",
    "resolve_database_url",
    "results",
    "runs",
    "stale_runs",
    "upgrade",
]
