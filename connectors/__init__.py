"""Connectors: the only code that knows each external system's wire format, one package per system."""
