"""Use cases of the clients service, one module per aggregate (mirroring api/): the only place that writes.
Each opens one unit of work, changes the models, records its events in the outbox, and commits once."""
