"""The billing service's benchmarks; documents.py: its printed forms next to WeasyPrint run bare."""
