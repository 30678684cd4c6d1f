"""What the analysis wrote, to compare two ways of analyzing the same traces."""

from __future__ import annotations

from agentmortem.platform.store import Store

TABLES = {
    "agent_runs": "* EXCEPT (AnalyzedAt, Version)",
    "agent_signals": "* EXCEPT (Version)",
    "agent_explanations": "* EXCEPT (Version)",
}


def analysis_rows(store: Store) -> dict[str, list[tuple]]:
    """The live rows of each analysis table, versions and analysis times left out, in a fixed order."""
    return {t: store.query(f"SELECT {cols} FROM {t} FINAL WHERE Deleted = 0 ORDER BY ALL") for t, cols in TABLES.items()}
