"""Pipelines: the only place that chains stages (segment run, live consumer, sync, demo...)."""
