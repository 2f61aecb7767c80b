"""An independent reference for the KPI definitions (../shared/API.md, docs/kpi.md): plain Python over the
records of a generated scenario or a plan (tests/support/analytics/scenario.py, plan.py), sharing no code with
the service (no SQL, no read models, no events). One function per endpoint, e.g. `reference.summary(scenario,
question)`, returns the JSON the endpoint must answer.

Written the obvious way on purpose: loops over every deal and client, a period tested day by day, exchange
rates looked up in a list."""
from tests.support.analytics.reference.billing import clients, fulfilment, payments, products  # noqa: F401
from tests.support.analytics.reference.marketing import (activities, campaigns, channels, forecast,  # noqa: F401
                                                         lost_reasons, satisfaction)
from tests.support.analytics.reference.sales import (deal_cycle, funnel, is_past_due, is_stalled,  # noqa: F401
                                                     managers, segments, stalled_counts, stalled_deals, summary)
