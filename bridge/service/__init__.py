"""The service, in four rooms: the worker (the application core: intake, processing, dispatch), the read
side (one module per resource), the web (the HTTP layer, on small protocols) and the runtime (processes,
wiring from the settings, logs and metrics)."""
