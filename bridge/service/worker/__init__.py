"""The worker: the application core of the service. Intake (webhooks and polls into the inbox),
processing (the inbox through re-reads into the journal, the journal through the engine into what is
stored), dispatch (the outbox carried out), snapshots, dispatch leases, and the loop that schedules them."""
