"""The store: inbox, records, links, ledger, findings, outbox, audit and cursors on SQLite or PostgreSQL."""
