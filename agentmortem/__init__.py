"""agentmortem: an OpenTelemetry-native receiver and analysis backend that explains why AI agents fail."""
