"""Scripts that produce genuine spans with real instrumentation libraries, one per process.

Instrumentations patch libraries globally and read their switches from the environment
at instrumentation time, so each runs in its own interpreter (see `capture.run_producer`).
"""
