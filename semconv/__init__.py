"""semconv: one declarative map from every GenAI tracing convention to a canonical span model."""
