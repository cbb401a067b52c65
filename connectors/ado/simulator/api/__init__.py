"""The simulated organisation's REST API (work item tracking 7.1, service hooks), built by `create_app`."""

from connectors.ado.simulator.api.app import create_app

__all__ = ["create_app"]
