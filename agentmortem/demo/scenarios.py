"""The scenario library: realistic agent runs, healthy ones and one per failure class.

Each scenario writes one trace through a real OpenTelemetry tracer (see
`demo.emit`) in either convention and returns the span ids it marked —
`root_cause` is the span the analysis must blame. `agentmortem demo` sends them to
a running collector; the scenario tests push them through the whole pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.trace import Tracer

from agentmortem.demo.emit import Emitter, Flavour

AGENT = "travel_assistant"
TOOLS = [
    {"name": "get_weather", "description": "Current weather for a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                    "additionalProperties": False}},
    {"name": "search_flights", "description": "Flights between two airports on a date",
     "parameters": {"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"},
                                                     "date": {"type": "string"}},
                    "required": ["origin", "destination", "date"]}},
    {"name": "ask_researcher", "description": "Delegate a research question to the researcher agent",
     "parameters": {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}},
]
WEATHER_PARIS = {"city": "Paris", "temp_c": 18, "sky": "sunny"}
WEATHER_ROME = {"city": "Rome", "temp_c": 24, "sky": "cloudy"}
RATE_LIMIT = ("RateLimitError", "Error code: 429 - Rate limit reached for gpt-4o-mini. Please try again in 20s.")
Marks = dict[str, str]


@dataclass(frozen=True)
class Scenario:
    name: str
    failure_class: str  # expected primary class; "" for healthy runs
    description: str
    play: Callable[[Emitter], Marks]
    settings: dict = field(default_factory=dict)  # RuleSettings overrides the scenario needs


def healthy_two_cities(em: Emitter) -> Marks:
    with em.agent(AGENT, "Compare the weather in Paris and Rome") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Paris"}, WEATHER_PARIS)
        em.llm(tool_calls=[("get_weather", {"city": "Rome"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Rome"}, WEATHER_ROME)
        run["answer"] = "Paris is 18°C and sunny; Rome is 24°C and cloudy."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"]}


def healthy_retry(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Paris"}, error=("ReadTimeout", "weather API read timed out"), duration_s=5)
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Paris"}, WEATHER_PARIS)
        run["answer"] = "It is 18°C and sunny in Paris."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"]}


def tool_error(em: Emitter) -> Marks:
    with em.agent(AGENT, "Find me a flight from CDG to FCO on 2025-06-01") as run:
        em.llm(tool_calls=[("search_flights", {"origin": "CDG", "destination": "FCO", "date": "2025-06-01"})],
               tools=TOOLS)
        failing = em.tool("search_flights", {"origin": "CDG", "destination": "FCO", "date": "2025-06-01"},
                          error=("ConnectionError", "flights API connection refused"))
        run["answer"] = "I'm sorry, I was unable to find flights right now."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": failing}


def rate_limited(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        failing = em.llm(error=RATE_LIMIT, tools=TOOLS)
        run["error"] = RATE_LIMIT
    return {"run": run["span_id"], "root_cause": failing}


def auth_error(em: Emitter) -> Marks:
    error = ("AuthenticationError", "Error code: 401 - Incorrect API key provided: sk-****abcd")
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        failing = em.llm(error=error, tools=TOOLS)
        run["error"] = error
    return {"run": run["span_id"], "root_cause": failing}


def timeout(em: Emitter) -> Marks:
    error = ("TimeoutError", "get_weather timed out after 30s")
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        failing = em.tool("get_weather", {"city": "Paris"}, error=error, duration_s=30)
        run["error"] = error
    return {"run": run["span_id"], "root_cause": failing}


def context_overflow(em: Emitter) -> Marks:
    error = ("BadRequestError", "Error code: 400 - This model's maximum context length is 128000 tokens. "
             "However, your messages resulted in 131072 tokens.")
    with em.agent(AGENT, "Summarise every review of hotels in Rome") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Rome"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Rome"}, WEATHER_ROME)
        failing = em.llm(error=error, tools=TOOLS)
        run["error"] = error
    return {"run": run["span_id"], "root_cause": failing}


def content_filtered(em: Emitter) -> Marks:
    with em.agent(AGENT, "Write a travel blurb for Rome") as run:
        failing = em.llm(answer="", finish="content_filter", tokens=(80, 0))
        run["answer"] = ""
    return {"run": run["span_id"], "root_cause": failing}


def empty_output(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Rome?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Rome"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Rome"}, WEATHER_ROME)
        failing = em.llm(answer="", tools=TOOLS, tokens=(160, 0))
        run["answer"] = ""
    return {"run": run["span_id"], "root_cause": failing}


def invalid_tool_args(em: Emitter) -> Marks:
    with em.agent(AGENT, "Any flights from CDG to FCO?") as run:
        failing = em.llm(tool_calls=[("search_flights", {"from": "CDG", "to": "FCO"})], tools=TOOLS)
        em.tool("search_flights", {"from": "CDG", "to": "FCO"},
                error=("ValidationError", "2 validation errors for search_flights"))
        run["answer"] = "I'm sorry, I couldn't search flights."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": failing}


def unknown_tool(em: Emitter) -> Marks:
    with em.agent(AGENT, "Book the cheapest hotel in Rome") as run:
        failing = em.llm(tool_calls=[("book_hotel", {"city": "Rome"})], tools=TOOLS)
        em.tool("book_hotel", {"city": "Rome"}, {"status": "confirmed"})
        run["answer"] = "Your hotel in Rome is booked."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": failing}


def loop(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Atlantis?") as run:
        first = ""
        for _ in range(4):
            em.llm(tool_calls=[("get_weather", {"city": "Atlantis"})], tools=TOOLS)
            tool = em.tool("get_weather", {"city": "Atlantis"}, {"city": "Atlantis", "found": False})
            first = first or tool
        run["answer"] = "I'm sorry, I couldn't find the weather for Atlantis."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": first}


def retry_storm(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        first = em.tool("get_weather", {"city": "Paris"}, error=("ServiceUnavailable", "503 upstream busy"))
        for _ in range(2):
            em.tool("get_weather", {"city": "Paris"}, error=("ServiceUnavailable", "503 upstream busy"))
        em.tool("get_weather", {"city": "Paris"}, WEATHER_PARIS)
        run["answer"] = "It is 18°C and sunny in Paris."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": first}


def max_iterations(em: Emitter) -> Marks:
    error = ("GraphRecursionError", "Recursion limit of 4 reached without hitting a stop condition.")
    with em.agent(AGENT, "Plan a 3-day trip to Rome") as run:
        for city in ("Rome", "Florence"):
            em.llm(tool_calls=[("get_weather", {"city": city})], tools=TOOLS)
            em.tool("get_weather", {"city": city}, {"city": city, "temp_c": 22})
        run["error"] = error
    return {"run": run["span_id"], "root_cause": run["span_id"]}


def abandoned(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Paris?", end=False) as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        last = em.tool("get_weather", {"city": "Paris"}, WEATHER_PARIS)
    return {"run": run["span_id"], "root_cause": last}


def cost_overspend(em: Emitter) -> Marks:
    with em.agent(AGENT, "Write a long guide to Rome") as run:
        run["answer"] = "Rome guide: see the Colosseum and the Pantheon."
        em.llm(answer=run["answer"], tokens=(100_000, 30_000), model="gpt-4o")
    return {"run": run["span_id"], "root_cause": run["span_id"]}


def delegation_failure(em: Emitter) -> Marks:
    with em.agent(AGENT, "Which museums open on Mondays in Rome?") as run:
        em.llm(tool_calls=[("ask_researcher", {"question": "Rome museums open Monday"})], tools=TOOLS)

        failed: list[str] = []

        def researcher() -> str:
            with em.agent("researcher", "Rome museums open Monday") as sub:
                failed.append(em.llm(error=("APIConnectionError", "Connection error.")))
                sub["error"] = ("APIConnectionError", "Connection error.")
            return ""

        em.tool("ask_researcher", {"question": "Rome museums open Monday"}, body=researcher)
        run["answer"] = "Most museums in Rome are open every day."
        em.llm(answer=run["answer"], tools=TOOLS)
    # The root cause is where the sub-agent's own failure began: its failed model call.
    return {"run": run["span_id"], "root_cause": failed[0]}


def error_swallowed(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        failing = em.tool("get_weather", {"city": "Paris"},
                          error=("HTTPError", "503 Service Unavailable from weather.example"))
        run["answer"] = "It is sunny in Paris today."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": failing}


def ungrounded_output(em: Emitter) -> Marks:
    with em.agent(AGENT, "Find me a flight from CDG to FCO on 2025-06-01") as run:
        em.llm(tool_calls=[("search_flights", {"origin": "CDG", "destination": "FCO", "date": "2025-06-01"})],
               tools=TOOLS)
        em.tool("search_flights", {"origin": "CDG", "destination": "FCO", "date": "2025-06-01"}, {"flights": []})
        run["answer"] = "Flight AZ-3117 leaves CDG at 07:45 on 2025-06-01 for €89; book at https://az.example/b/3117."
        answer = em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"], "root_cause": answer}


def low_eval_score(em: Emitter) -> Marks:
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        em.tool("get_weather", {"city": "Paris"}, WEATHER_PARIS)
        run["answer"] = "It is 18°C and sunny in Paris."
        judged = em.llm(answer=run["answer"], tools=TOOLS,
                        evaluations=[{"name": "helpfulness", "score": 0.2, "label": "unhelpful"}])
    return {"run": run["span_id"], "root_cause": judged}


def tool_error_loop_rate_limit(em: Emitter) -> Marks:
    """Combined: a failing tool makes the agent call it again and again until the provider rate-limits it."""
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS)
        first = em.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather API unreachable"))
        for _ in range(3):
            em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS, tokens=(200, 30))
            em.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather API unreachable"))
        em.llm(error=RATE_LIMIT, tools=TOOLS)
        run["error"] = RATE_LIMIT
    return {"run": run["span_id"], "root_cause": first}


def truncated_args_then_tool_error(em: Emitter) -> Marks:
    """Combined: the model's output is cut at max_tokens, the tool arguments are broken JSON, the tool fails."""
    with em.agent(AGENT, "Any flights from CDG to FCO on 2025-06-01?") as run:
        failing = em.llm(tool_calls=[("search_flights", '{"origin": "CDG", "destination": "FC')], tools=TOOLS,
                         finish="length")
        em.tool("search_flights", '{"origin": "CDG", "destination": "FC',
                error=("JSONDecodeError", "Unterminated string starting at: line 1 column 33"))
        run["error"] = ("JSONDecodeError", "Unterminated string starting at: line 1 column 33")
    return {"run": run["span_id"], "root_cause": failing}


SCENARIOS: list[Scenario] = [
    Scenario("healthy_two_cities", "", "two tool calls with different arguments, grounded answer",
             healthy_two_cities),
    Scenario("healthy_retry", "", "a tool times out once and the retry succeeds", healthy_retry),
    Scenario("tool_error", "tool_error", "the flights API refuses the connection", tool_error),
    Scenario("rate_limited", "rate_limited", "the provider answers 429", rate_limited),
    Scenario("auth_error", "auth_error", "the API key is wrong", auth_error),
    Scenario("timeout", "timeout", "a tool times out after 30 s", timeout),
    Scenario("context_overflow", "context_overflow", "the prompt exceeds the context window", context_overflow),
    Scenario("content_filtered", "content_filtered", "the provider's content filter blocks the answer",
             content_filtered),
    Scenario("empty_output", "empty_output", "the model answers nothing", empty_output),
    Scenario("invalid_tool_args", "invalid_tool_args", "the model sends arguments that break the schema",
             invalid_tool_args),
    Scenario("unknown_tool", "unknown_tool", "the model calls a tool it was never offered", unknown_tool),
    Scenario("loop", "loop", "identical calls, then a polite non-answer", loop),
    Scenario("retry_storm", "retry_storm", "three failed retries before success", retry_storm),
    Scenario("max_iterations", "max_iterations", "LangGraph's recursion limit", max_iterations),
    Scenario("abandoned", "abandoned", "the process dies mid-run", abandoned),
    Scenario("cost_overspend", "cost_overspend", "one huge call blows the budget", cost_overspend,
             settings={"agent_budgets_usd": {AGENT: 0.5}}),
    Scenario("delegation_failure", "delegation_failure", "the researcher sub-agent fails, the parent answers anyway",
             delegation_failure),
    Scenario("error_swallowed", "error_swallowed", "a tool error is read and ignored", error_swallowed),
    Scenario("ungrounded_output", "ungrounded_output", "the answer invents a flight", ungrounded_output),
    Scenario("low_eval_score", "low_eval_score", "an evaluator scores the answer low", low_eval_score),
    Scenario("tool_error_loop_rate_limit", "tool_error", "tool error → loop → rate limit",
             tool_error_loop_rate_limit),
    Scenario("truncated_args_then_tool_error", "context_overflow", "truncated output → broken arguments → tool error",
             truncated_args_then_tool_error),
]


def play(scenario: Scenario, tracer: Tracer, flavour: Flavour, start_ns: int) -> Marks:
    """Emit one scenario's trace; returns its marked span ids."""
    return scenario.play(Emitter(tracer, flavour, start_ns))
