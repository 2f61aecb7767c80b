"""Use cases of the analytics service: the scope of a KPI question (kpi.py) and the exchange rates, the only
thing written through the API (fx_rates.py). The roles each one admits are in policy.py."""
