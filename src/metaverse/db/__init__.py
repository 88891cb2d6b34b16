"""Relational storage: SQLAlchemy models, the engine, repositories and Alembic migrations."""
