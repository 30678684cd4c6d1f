"""collector: OTLP gRPC/HTTP receivers that durably write spans into ClickHouse `otel_traces`."""
