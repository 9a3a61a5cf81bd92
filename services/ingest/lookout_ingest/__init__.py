"""Lookout's ingest API: agents push samples over HTTP; each accepted request becomes
one persistent broker message, answered only after the broker confirmed it."""
