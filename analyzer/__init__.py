"""analyzer: run trees, signals, root cause and post-mortems over stored spans; CLI and API."""
