"""Grounding of the final answer: ungrounded_output and the run's hallucination score.

Claims are the checkable facts in the final answer — URLs, emails, ISO and written
dates, ids (letters mixed with digits), quoted names, and numbers of two or more
digits or with decimals. A claim is grounded when it appears in something the agent
was given or fetched (prompts, tool results, retrieved documents; never the model's
own earlier answers). Matching is loose: case-insensitive, separators and currency
signs ignored ("1,234" = "1234", "$5" = "5 USD"), numbers equal after rounding to
the claim's precision or within 0.5 %, percentages also as fractions.
The hallucination score is the ungrounded share of the claims (0..1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.model import Run, Severity, Signal
from agentmortem.analyzer.core.rule_context import RuleContext

_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = ("january february march april may june july august september october november december").split()
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WRITTEN_DATE = re.compile(
    rf"\b{_MONTH}\.? (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b|\b(\d{{1,2}})(?:st|nd|rd|th)? {_MONTH}\.?,? (\d{{4}})\b", re.I
)
_QUOTED = re.compile(r"\"([^\"\n]{2,80})\"|“([^”\n]{2,80})”")
_ID = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_-]{3,}\b")
_UNIT_SUFFIX = re.compile(r"^\d+(?:st|nd|rd|th|s|am|pm|k|m|b|km|kg|g|mb|gb|tb|h|hr|hrs|min|ms|s|x|c|f|mph|kmh)$", re.I)
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:[,_]\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
# Every claim pattern needs one of these: a digit (dates, ids, numbers), a quote, an @, or http.
_CLAIM_HINT = re.compile(r"[\d\"“@]|http", re.I)
_ALNUM = re.compile(r"[^a-z0-9]+")  # removed a run at a time: the same text, far fewer matches


@dataclass(frozen=True)
class Claim:
    kind: str  # url | email | date | id | quote | number
    text: str  # as written in the answer


def _iso(match: re.Match[str]) -> str | None:
    g = match.groups()
    month_name, day, year = (g[0], g[1], g[2]) if g[0] else (g[4], g[3], g[5])
    month = next((i + 1 for i, m in enumerate(_MONTHS) if m.startswith(month_name.lower()[:3])), 0)
    try:
        return date(int(year), month, int(day)).isoformat()
    except ValueError:
        return None


def _dates(text: str) -> set[str]:
    found = {m.group(0) for m in _ISO_DATE.finditer(text)}
    found |= {iso for m in _WRITTEN_DATE.finditer(text) if (iso := _iso(m))}
    return found


def _numbers(text: str) -> list[float]:
    return [float(_digits(m.group(0))) for m in _NUMBER.finditer(text)]


def _digits(raw: str) -> str:
    """A number as written without its separators ("1,234" → "1234"); sources hold many numbers,
    and two replaces cost a fraction of a `re.sub`."""
    return raw.replace(",", "").replace("_", "")


def extract_claims(answer: str) -> list[Claim]:
    """The checkable facts in an answer, each once, in a fixed order of kinds."""
    if not _CLAIM_HINT.search(answer):
        return []  # one search instead of a dozen: most answers state no checkable fact
    claims: list[Claim] = []
    rest = answer
    for kind, pattern in (("url", _URL), ("email", _EMAIL)):
        for m in pattern.finditer(rest):
            claims.append(Claim(kind, m.group(0).rstrip(".,;:!?")))
        rest = pattern.sub(" ", rest)
    for m in list(_ISO_DATE.finditer(rest)) + list(_WRITTEN_DATE.finditer(rest)):
        claims.append(Claim("date", m.group(0)))
    rest = _WRITTEN_DATE.sub(" ", _ISO_DATE.sub(" ", rest))
    for m in _QUOTED.finditer(rest):
        claims.append(Claim("quote", (m.group(1) or m.group(2)).strip()))
    rest = _QUOTED.sub(" ", rest)
    for m in _ID.finditer(rest):
        if not _UNIT_SUFFIX.match(m.group(0)):
            claims.append(Claim("id", m.group(0)))
    rest = _ID.sub(lambda m: m.group(0) if _UNIT_SUFFIX.match(m.group(0)) else " ", rest)
    for m in _NUMBER.finditer(rest):
        raw = m.group(0)
        if "." in raw or len(_digits(raw)) >= 2:
            claims.append(Claim("number", raw))
    return list(dict.fromkeys(claims))


class Sources:
    """The agent's inputs, indexed for loose matching."""

    def __init__(self, text: str) -> None:
        self.lower = text.lower()
        self.alnum = _ALNUM.sub("", self.lower)
        self.dates = _dates(text)
        self.numbers = _numbers(text)

    def number_found(self, raw: str) -> bool:
        value = float(_digits(raw))
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        for candidate in self.numbers:
            for v in (candidate, candidate * 100):
                if round(v, decimals) == value or abs(v - value) <= 0.005 * abs(value):
                    return True
        return False

    def grounded(self, claim: Claim) -> bool:
        if claim.kind == "number":
            return self.number_found(claim.text)
        if claim.kind == "date":
            return bool(_dates(claim.text) & self.dates) or claim.text.lower() in self.lower
        if claim.kind == "url":
            return claim.text.lower().rstrip("/") in self.lower
        key = _ALNUM.sub("", claim.text.lower())
        return claim.text.lower() in self.lower or (bool(key) and key in self.alnum)


def grounding(view: RunView) -> tuple[float | None, list[Claim], list[Claim]]:
    """(hallucination score, claims, ungrounded claims); score None when nothing can be judged."""
    return view.memo("grounding", lambda: _grounding(view))


def _grounding(view: RunView) -> tuple[float | None, list[Claim], list[Claim]]:
    _, answer = view.final_answer
    claims = extract_claims(answer) if answer else []
    if not claims:  # checked first: gathering the sources is the costly part
        return None, [], []
    if not view.fetched:
        return None, [], []  # nothing fetched: the model answered from its own knowledge, not from sources
    source = view.source_text
    if not source.strip():
        return None, [], []
    sources = Sources(source)
    ungrounded = [c for c in claims if not sources.grounded(c)]
    return round(len(ungrounded) / len(claims), 3), claims, ungrounded


def hallucination_score(view: RunView) -> float | None:
    return grounding(view)[0]


def ungrounded_output(run: Run, ctx: RuleContext) -> list[Signal]:
    """Facts in the final answer that appear in no input, tool result or retrieved document, in a run
    that fetched sources (tools or documents), with at least `ungrounded_min_claims` of them."""
    score, claims, ungrounded = grounding(ctx.view)
    if score is None or len(ungrounded) < ctx.settings.ungrounded_min_claims:
        return []
    rs = ctx.view.final_answer[0]
    assert rs is not None
    severity: Severity = "error" if score >= ctx.settings.ungrounded_error_score else "warning"
    return [Signal("ungrounded_output", severity, rs.span_id, {
        "span_ids": [rs.span_id], "score": score, "claims": len(claims), "ungrounded": len(ungrounded),
        "examples": [c.text for c in ungrounded[:5]], "kinds": sorted({c.kind for c in ungrounded}),
        "span_name": rs.span.span_name,
    })]
