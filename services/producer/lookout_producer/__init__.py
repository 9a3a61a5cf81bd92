"""Lookout's producer: demo data for a running stack, and a load generator.

It only pushes: every batch goes to the JSON ingest API (``POST /api/v1/metrics``)
and counts as acknowledged once that API answered 2xx.
"""
