"""Use cases of the deals service, one module per aggregate (as api/): the only code that writes. Views import
the module they need; nothing is re-exported here."""
