"""The billing service's use cases, one module per aggregate: the only code that writes its tables."""
