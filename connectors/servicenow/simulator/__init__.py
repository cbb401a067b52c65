"""Simulated ServiceNow: the Table API for change_request and its journal, and the bridge's change events."""

from connectors.servicenow.simulator.hooks import SIGNATURE_HEADER, event_body, signature, verify
from connectors.servicenow.simulator.simulator import ServiceNowSimulator

__all__ = ["SIGNATURE_HEADER", "ServiceNowSimulator", "event_body", "signature", "verify"]
