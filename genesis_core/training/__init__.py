"""The shared training loop, its callbacks, loaders and distributed set-up."""
