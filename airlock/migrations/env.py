"""Alembic environment: always run with a connection handed over by `airlock.db`."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `airlock db upgrade`, not the alembic CLI")

# render_as_batch lets the same scripts alter tables on SQLite (copy-and-move) and PostgreSQL.
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
