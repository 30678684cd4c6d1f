"""Demo agent runs: scenarios played through a real OpenTelemetry tracer, and sending them to a collector."""
