"""The read side: what the read API, the pages and the report show, one module per resource, read from
what the worker stored (through the store's transaction), free of HTTP."""
