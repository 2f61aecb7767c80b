"""The analytics service in tests: event builders, a generated scenario and a plan of requests, the independent
reference that computes every KPI from them, and feeding events through the consumer runner."""
