"""Shared plumbing for the Glassbox services. Never domain code."""
