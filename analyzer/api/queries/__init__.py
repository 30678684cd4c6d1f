"""The API's query layer: every function takes a `Scope` and filters by its tenant itself."""
