"""Facts derived from a run, shared by the rules: the run view, message content, failure spans."""
