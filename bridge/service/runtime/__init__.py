"""The runtime: how the service runs as processes. The runner (the app on uvicorn, the worker beside it,
draining on SIGTERM), the wiring from the settings, logs, metrics, the stop signals, the doctor and the
systems a store belongs to."""
