"""The store: schema and migrations, engine and change counters, bulk insert, report queries, backup, retention."""
