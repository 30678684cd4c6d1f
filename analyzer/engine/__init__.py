"""The analysis engine: loading, staging, scheduling, worker processes and writing results, around the core."""
