"""The StatsD / DogStatsD UDP listener (``python -m lookout_ingest.statsd``).

parser.py (a line -> metric events) and aggregator.py (events -> one interval's
samples) are pure; server.py moves datagrams in and flushed batches out to the
broker.
"""
