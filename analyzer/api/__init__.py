"""The HTTP API and HTML pages over the analysis tables (FastAPI), and the AgentMetrics ingest endpoints."""
