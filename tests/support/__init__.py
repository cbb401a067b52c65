"""Helpers shared by the tests: builders of domain events and engine contexts."""
