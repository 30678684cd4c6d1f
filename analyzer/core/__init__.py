"""The analysis core: runs, facts, rules, root cause, impact and post-mortem text. Pure (no I/O); depends on semconv only."""
