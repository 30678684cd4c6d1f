"""The shared platform layer: store, SQL quoting, migrations runner, table contracts, settings, logging, hosting. Depends on nothing else of ours."""
