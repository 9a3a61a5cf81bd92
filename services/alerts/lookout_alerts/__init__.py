"""Lookout's alert evaluator. So far only its process, settings and health; rules,
evaluation and notifications arrive with the alerting issue."""
