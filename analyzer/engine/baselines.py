"""Agent baselines: robust p50 / p95 / MAD of duration, tokens and cost, computed in SQL.

One `INSERT … SELECT` over recent ended agent runs that did not fail (the agent's
normal behaviour), grouped by tenant and agent; the MAD is the median of absolute
deviations from the median. Readers use `analyzer.engine.load.load_baselines`.
"""

from __future__ import annotations

import time

from agentmortem.platform.store import Store

_RECOMPUTE = """
INSERT INTO agent_baselines
SELECT
    Tenant,
    AgentName,
    count() AS Runs,
    quantileExact(0.5)(DurationMs) AS d50,
    quantileExact(0.95)(DurationMs),
    arrayReduce('quantileExact(0.5)', arrayMap(x -> abs(x - d50), groupArray(DurationMs))),
    quantileExact(0.5)(toFloat64(TotalTokens)) AS t50,
    quantileExact(0.95)(toFloat64(TotalTokens)),
    arrayReduce('quantileExact(0.5)', arrayMap(x -> abs(x - t50), groupArray(toFloat64(TotalTokens)))),
    quantileExact(0.5)(CostUsd) AS c50,
    quantileExact(0.95)(CostUsd),
    if(c50 IS NULL, NULL, arrayReduce('quantileExact(0.5)', arrayMap(x -> abs(x - c50), groupArray(CostUsd)))),
    {version:UInt64}
FROM agent_runs FINAL
WHERE Kind = 'agent' AND Status = 'ended' AND Outcome != 'failed' AND AgentName != ''
  AND Start >= now64(9) - toIntervalDay({days:UInt32})
GROUP BY Tenant, AgentName
"""


def recompute_baselines(store: Store, window_days: int) -> None:
    """Replace every agent's baseline with one computed from its last `window_days` of runs."""
    store.command(_RECOMPUTE, {"version": time.time_ns(), "days": window_days})
