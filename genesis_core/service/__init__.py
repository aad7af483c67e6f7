"""The HTTP API over the job queue and the workspace (`genesis serve`)."""
