"""Billing benchmarks."""
