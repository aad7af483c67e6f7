"""The HTTP API's routes, one module per resource: tables, syntheses, jobs, releases, drift. Each is a thin
layer over the core calls that the CLI and the pages make too."""
