"""Use cases of identity, one module per aggregate (mirroring api/): the only place that writes. Each user
change records its event in the outbox in the same unit of work. No Flask here: the key ring and settings
that sign access tokens are passed in by the caller."""
