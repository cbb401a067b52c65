"""The simulated GitLab's REST API v4, built from its model and hooks by `create_app`."""

from .app import create_app

__all__ = ["create_app"]
