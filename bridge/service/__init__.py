"""The service: the composition root that wires connectors, the engine and the store together."""
