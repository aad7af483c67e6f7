"""Background jobs: durable store, queue, worker processes."""
