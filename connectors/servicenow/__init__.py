"""ServiceNow: RFCs in the change_request table (poller, webhook parser, writer and simulator)."""
