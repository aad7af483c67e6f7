"""Durable state on disk: workspace, runs, checkpoints, metrics, cache."""
