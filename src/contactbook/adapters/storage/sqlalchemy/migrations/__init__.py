"""Alembic migrations of the contactbook tables (run by ``SqlAlchemyStorage.migrate()``)."""
