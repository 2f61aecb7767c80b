"""The KPI queries: each one (or a few) SQL statement(s) over the read models, aggregated by the database.
The definitions are those of docs/kpi.md; every time-dependent answer takes the time of the question once
(Scope.now).

- scope.py: who and what a question is about, and the filters that follow from it;
- conditions.py: the conditions on deals and activities the KPIs share, outcome figures, stage names;
- measures.py: aggregation with money converted to the base currency;
- totals.py: the totals PostgreSQL keeps, minus what an index finds on the other side of now;
- one module per family of endpoints: summary.py (/summary, /managers), funnel.py (/funnel, /deal-cycle),
  open_deals.py (/stalled-deals, /forecast, the /metrics gauges), segments.py (/segments, /campaigns,
  /lost-reasons), work.py (/activities, /satisfaction);
- billing.py: what the billing KPIs share (which invoices and payments a question is about, money received,
  invoices issued), and one module per billing endpoint: payments.py, fulfilment.py, products.py, clients.py."""
