"""Money for a span: the span's own cost first, else tokens priced by `genai-prices`.

Order: a cost the span carries (`cost_usd`: OpenInference `llm.cost.total`, Logfire
`operation.cost`, MLflow `mlflow.llm.cost`) → a user override for the model → the
maintained `genai-prices` table. Unknown model → None (the caller counts it as
unpriced), never a silent 0. Input tokens include cached tokens, as in GenAI semconv
and in `genai-prices`, so cached tokens are priced at the cache-read rate, not twice.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentmortem.semconv.model import CanonicalSpan

# GenAI semconv provider names whose `genai-prices` provider id differs.
PROVIDER_ALIASES: dict[str, str] = {
    "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google", "vertex_ai": "google",
    "gemini": "google", "aws.bedrock": "aws", "azure.ai.openai": "azure", "azure.ai.inference": "azure",
    "az.ai.openai": "azure", "az.ai.inference": "azure", "mistral_ai": "mistral", "x_ai": "x-ai",
    "xai": "x-ai", "ibm.watsonx.ai": "ibm", "moonshot_ai": "moonshotai",
}


@dataclass(frozen=True)
class ModelPrice:
    """A user-given price in USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None  # defaults to the input price


def parse_overrides(text: str) -> dict[str, ModelPrice]:
    """Overrides from JSON `{"model": {"input_per_mtok": …, "output_per_mtok": …}}` (e.g. an env var)."""
    if not text.strip():
        return {}
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("price overrides must be a JSON object keyed by model name")
    return {model: ModelPrice(**spec) for model, spec in raw.items()}


OVERRIDES_ENV = "AGENTMORTEM_PRICE_OVERRIDES"


def read_overrides(value: str) -> dict[str, ModelPrice]:
    """Overrides from inline JSON, or from the JSON file `@path` names; ValueError naming the variable."""
    try:
        text = value
        if text.startswith("@"):
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        return parse_overrides(text)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{OVERRIDES_ENV} is invalid: {exc}") from exc


class PricingSettings(BaseSettings):
    """The prices section of the settings root (`agentmortem.settings`): the user's overrides."""

    model_config = SettingsConfigDict(env_prefix="AGENTMORTEM_", extra="ignore")

    price_overrides: str = Field(
        "", description="Model prices in USD per million tokens, over genai-prices: JSON "
                        '{"model": {"input_per_mtok": …, "output_per_mtok": …, "cached_input_per_mtok": …}} '
                        "or @path to a file of it",
    )

    @field_validator("price_overrides")
    @classmethod
    def _parses(cls, value: str) -> str:
        read_overrides(value)
        return value

    @property
    def overrides(self) -> dict[str, ModelPrice]:
        return read_overrides(self.price_overrides)


@lru_cache(maxsize=1)
def configured_overrides() -> dict[str, ModelPrice]:
    """The process's price overrides (`PricingSettings`, read from the environment once): what prices
    tokens when a caller passes none. Analysis worker processes inherit the environment, so every
    process of one deployment prices alike; a malformed value raises a ValueError naming the variable
    (the command line refuses it at start)."""
    return PricingSettings().overrides


def _provider_ids(provider: str) -> tuple[str | None, ...]:
    """Provider ids to try, most specific first; None lets genai-prices infer from the model."""
    candidates: list[str | None] = []
    for name in (provider, PROVIDER_ALIASES.get(provider, ""), provider.split(".")[0]):
        if name and name not in candidates:
            candidates.append(name)
    return (*candidates, None)


@lru_cache(maxsize=4096)
def _catalogue_price(provider: str, model: str, input_tokens: int, output_tokens: int, cached: int) -> float | None:
    import genai_prices  # imported lazily: loading its price snapshot takes a moment

    usage = genai_prices.Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached)
    for provider_id in _provider_ids(provider):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return float(genai_prices.calc_price(usage, model, provider_id=provider_id).total_price)
        except (LookupError, ValueError):
            continue
    return None


def price_tokens(
    provider: str,
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_tokens: int | None = None,
    overrides: Mapping[str, ModelPrice] | None = None,
) -> float | None:
    """USD for these tokens of `model`, or None when the model has no known price or no tokens.

    `overrides=None` means the configured ones (`configured_overrides()`).
    """
    if not model or (input_tokens is None and output_tokens is None):
        return None
    if overrides is None:
        overrides = configured_overrides()
    inp, out, cached = input_tokens or 0, output_tokens or 0, min(cached_tokens or 0, input_tokens or 0)
    override = (overrides or {}).get(model)
    if override is not None:
        cached_rate = override.input_per_mtok if override.cached_input_per_mtok is None else override.cached_input_per_mtok
        return ((inp - cached) * override.input_per_mtok + cached * cached_rate + out * override.output_per_mtok) / 1e6
    return _catalogue_price(provider, model, inp, out, cached)


def is_priced(provider: str, model: str, overrides: Mapping[str, ModelPrice] | None = None) -> bool:
    """Whether `model` has a price (override or catalogue)."""
    return price_tokens(provider, model, 1_000_000, 1_000_000, 0, overrides) is not None


def span_cost(span: CanonicalSpan, overrides: Mapping[str, ModelPrice] | None = None) -> float | None:
    """The span's cost in USD: its own when it carries one, else priced tokens, else None."""
    if span.cost_usd is not None:
        return span.cost_usd
    response, request = span.response_model, span.request_model
    for model in (response, request) if request != response else (response,):
        if not model:
            continue
        cost = price_tokens(span.provider, model, span.input_tokens, span.output_tokens, span.cached_tokens,
                            overrides)
        if cost is not None:
            return cost
    return None
