"""The HTTP API (FastAPI): an edge like the CLI, calling services only."""
