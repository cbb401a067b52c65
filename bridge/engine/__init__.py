"""The reconciliation engine: a pure function from what the systems show to what the bridge does."""
