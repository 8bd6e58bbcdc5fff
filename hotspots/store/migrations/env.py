"""Alembic environment: runs on the connection the store hands over (see ``hotspots.store.engine.migrate``)."""

from alembic import context

from hotspots.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: build an engine from the settings
    from hotspots.store.engine import create_store_engine

    with create_store_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
