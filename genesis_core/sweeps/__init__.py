"""Hyperparameter sweeps: an Optuna study in the workspace whose trials are ordinary jobs and runs."""
