"""The analyzer's settings section (scheduling), read from flat `AGENTMORTEM_*` env vars.

The rules' thresholds are their own section (`analyzer.core.rule_context.RuleSettings`); this
one only says *when* and *how much* to analyze. `Shard` parses `--shard i/n`. The root that
composes every section is `agentmortem.settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentmortem.analyzer.engine.workers import default_worker_count
from agentmortem.platform.settings import ENV_PREFIX


@dataclass(frozen=True)
class Shard:
    """This analyzer's share of the traces: those with `cityHash64(TraceId) % count == index`."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard must be i/n with 0 <= i < n, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"i/n"` → Shard(i, n)."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"shard must look like i/n (e.g. 0/2), got {text!r}")
        return cls(int(index), int(count))

    @property
    def name(self) -> str:
        return f"{self.index}/{self.count}"


class AnalyzerSettings(BaseSettings):
    """When the analyzer runs and how much it takes per round."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    analyzer_interval_seconds: float = Field(2.0, gt=0, description="Pause between analysis rounds")
    settle_seconds: float = Field(
        10.0, ge=0, description="A trace without a root span is analyzed after this long without new spans"
    )
    abandon_after_seconds: float = Field(
        300.0, gt=0, description="A run whose root never arrives is judged abandoned after this long without new spans"
    )
    analyzer_lag_seconds: float = Field(
        15.0, ge=0, description="Activity this recent is always re-scanned (covers inserts still committing)"
    )
    analyzer_batch_traces: int = Field(2000, gt=0, description="Traces loaded and analyzed per batch, at most (a round's batches are cut even, in a multiple of the workers)")
    analyzer_batch_spans: int = Field(
        200_000, gt=0, description="Spans loaded and analyzed per batch, about (a batch of big traces holds fewer "
                                   "traces); with the per-trace bound, what bounds an analysis worker's memory")
    analyzer_max_traces_per_round: int = Field(
        200_000, gt=0, description="Upper bound on traces analyzed in one round (the rest wait for the next)"
    )
    analyzer_max_spans_per_trace: int = Field(
        20_000, gt=0, description="A trace holding more spans is analyzed on its first this many by start time "
                                  "(its post-mortem says so): no trace is ever loaded whole past this bound"
    )
    analyzer_workers: int = Field(
        default_factory=default_worker_count, ge=0,
        description="Processes that analyze rounds of several batches in parallel (default: one per core; "
                    "0 or 1: in the analyzer's own process)",
    )
    baseline_interval_seconds: float = Field(60.0, gt=0, description="How often agent baselines are recomputed")
    baseline_window_days: int = Field(14, gt=0, description="Runs this recent make an agent's baseline")
    analyzer_shard: str = Field("0/1", description="This analyzer's share of traces, i/n (also --shard)")
    analyzer_metrics_max_agents: int = Field(
        200, ge=1, description="Distinct (tenant, agent) pairs the run metrics label on their own; runs of "
                               "further agents count under agent=\"other\" (bounds the series)")

    @field_validator("analyzer_shard")
    @classmethod
    def _valid_shard(cls, value: str) -> str:
        Shard.parse(value)
        return value

    @property
    def shard(self) -> Shard:
        return Shard.parse(self.analyzer_shard)
