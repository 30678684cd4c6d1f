"""AgentMetrics runs as a legacy agent SDK posts them to `POST /v1/runs`."""

from __future__ import annotations

T0 = "2025-01-15T10:30:00Z"


def failing_run(run_id: str) -> dict:
    """A run whose search tool fails three times with the same arguments, then gives up."""
    events = [{"event_id": "e0", "type": "run_start", "timestamp": T0}]
    for i in range(3):
        events += [
            {"event_id": f"a{i}", "type": "assistant_message", "timestamp": f"2025-01-15T10:30:0{2 * i + 1}Z",
             "content": "", "tokens": {"input": 1000, "output": 50}},
            {"event_id": f"c{i}", "type": "tool_call", "tool_id": f"t{i}", "tool_name": "WebSearch",
             "tool_input": {"q": "flights to Paris"}, "timestamp": f"2025-01-15T10:30:0{2 * i + 1}.5Z"},
            {"event_id": f"r{i}", "type": "tool_result", "tool_id": f"t{i}", "tool_name": "WebSearch",
             "tool_output": "HTTP 503 upstream unavailable", "tool_success": False, "tool_duration_ms": 400,
             "timestamp": f"2025-01-15T10:30:0{2 * i + 2}Z"},
        ]
    events.append({"event_id": "a9", "type": "assistant_message", "timestamp": "2025-01-15T10:30:08Z",
                   "content": "Sorry, I could not find any flights.", "tokens": {"input": 1200, "output": 20}})
    return {
        "run_id": run_id, "agent_id": "trip-planner", "session_id": "sess-42", "started_at": T0,
        "finished_at": "2025-01-15T10:30:09Z", "status": "failed",
        "error": {"type": "ToolError", "message": "WebSearch kept failing"},
        "tokens": {"input": 4200, "output": 170}, "estimated_cost_usd": 0.0123, "model": "gpt-4o-mini",
        "prompt": "Find me a flight to Paris", "events": events, "metadata": {"env": "test"},
    }
