"""The device database: SQLAlchemy models, engine helpers and Alembic migrations."""
