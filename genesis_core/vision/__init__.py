"""Image lab: datasets, autoencoders and their training task."""
