"""Thresholds of the signal rules (a settings section, from `AGENTMORTEM_*` env vars), and the rules' context.

`RuleSettings` is the rules' section of the settings root (`agentmortem.settings`), with
defaults that suit most agents; every threshold can be overridden, e.g.
`AGENTMORTEM_LOOP_MIN_REPEATS=4` or `AGENTMORTEM_AGENT_BUDGETS_USD='{"support-agent": 0.50}'`. `RuleContext` is what
every rule receives next to the run: the settings, the agent's baseline, and a
`RunView` of facts derived once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentmortem.analyzer.core.model import Baseline

if TYPE_CHECKING:
    from agentmortem.analyzer.core.facts.view import RunView

# Input context windows in tokens, matched by the longest model-name prefix
# (provider prefixes such as "openai/" are stripped first).
DEFAULT_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-3.5-turbo": 16_385,
    "gpt-4": 8_192,
    "gpt-4-32k": 32_768,
    "gpt-4-turbo": 128_000,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.5": 128_000,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "claude-2": 100_000,
    "claude-3": 200_000,
    "claude-3-5": 200_000,
    "claude-3-7": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-opus-4": 200_000,
    "claude-haiku-4": 200_000,
    "gemini-1.0-pro": 32_760,
    "gemini-1.5-flash": 1_048_576,
    "gemini-1.5-pro": 2_097_152,
    "gemini-2.0-flash": 1_048_576,
    "gemini-2.5": 1_048_576,
    "mistral-large": 128_000,
    "mistral-small": 32_000,
    "llama-3.1": 128_000,
    "llama-3.3": 128_000,
    "deepseek-chat": 64_000,
    "deepseek-reasoner": 64_000,
    "command-r": 128_000,
}


class RuleSettings(BaseSettings):
    """Every threshold the rules use."""

    model_config = SettingsConfigDict(env_prefix="AGENTMORTEM_", extra="ignore")

    # -- repetition ------------------------------------------------------------------
    loop_min_repeats: int = Field(3, ge=2, description="Identical consecutive tool calls (or prompts) that make a loop")
    loop_min_cycles: int = Field(3, ge=2, description="Repetitions of an A-B(-C) cycle that make a loop")
    retry_storm_min_calls: int = Field(3, ge=2, description="Sibling calls to one target, earlier ones failed")
    # -- model limits -------------------------------------------------------------------
    context_window_fraction: float = Field(0.95, gt=0, le=1, description="Input tokens ≥ this share of the window")
    model_context_windows: dict[str, int] = Field(
        default_factory=dict, description="Extra or overriding context windows by model-name prefix"
    )
    # -- baselines and budgets -------------------------------------------------------------
    baseline_min_runs: int = Field(20, ge=2, description="Baseline runs needed before outliers are judged")
    latency_z_threshold: float = Field(3.5, gt=0, description="Robust z-score (MAD) of a latency outlier")
    cost_z_threshold: float = Field(3.5, gt=0, description="Robust z-score (MAD) of a cost outlier")
    agent_budgets_usd: dict[str, float] = Field(default_factory=dict, description="Per-agent budget per run, USD")
    budget_warn_fraction: float = Field(0.8, gt=0, le=1, description="Share of the budget that earns a warning")
    # -- content ---------------------------------------------------------------------------
    ungrounded_error_score: float = Field(0.5, ge=0, le=1, description="Hallucination score that fails a run")
    ungrounded_min_claims: int = Field(2, ge=1, description="Unsupported facts an answer needs before it is "
                                                             "reported as ungrounded (fewer is too little evidence)")
    eval_score_threshold: float = Field(0.5, description="Evaluation scores below this are low")
    eval_thresholds: dict[str, float] = Field(default_factory=dict, description="Per-evaluation-name thresholds")

    def context_window(self, model: str) -> int | None:
        """The model's input window by the longest matching name prefix, or None if unknown."""
        return _context_window(model, tuple(self.model_context_windows.items()))


@lru_cache(maxsize=1024)
def _context_window(model: str, overrides: tuple[tuple[str, int], ...]) -> int | None:
    """`RuleSettings.context_window`, cached: every model call of every run asks it."""
    name = model.lower().rsplit("/", 1)[-1]
    windows = {**DEFAULT_CONTEXT_WINDOWS, **{k.lower(): v for k, v in overrides}}
    best = max((prefix for prefix in windows if name.startswith(prefix)), key=len, default=None)
    return windows[best] if best else None


@dataclass(frozen=True)
class RuleContext:
    """What a rule may consult besides the run: settings, the agent's baseline, derived facts."""

    settings: RuleSettings
    baseline: Baseline | None
    view: RunView
