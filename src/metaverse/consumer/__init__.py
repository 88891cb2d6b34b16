"""The consumer: reads the event log in batches and writes it to the database, idempotently."""
