"""E-mail notifications: events -> outbox rows -> a sender that delivers each once.

``messages`` (pure) turns an event into messages, using the ``directory`` (pure) that the
notifier keeps from the same events; ``outbox`` projects events into the ``notify_<registry>``
schema with its own checkpoint; ``sender`` delivers due rows with retries and backoff;
``service`` starts both as background tasks that never block or fail a command.
"""
