"""The analytics service at scale, each part next to a bare baseline in the same run: ingest rate of the consumer,
KPI latency at 1,000,000 deals, freshness of a KPI after a deal move, and a full rebuild by replay.

Starts its own PostgreSQL (the analytics and deals databases at their head migrations) and Kafka (bench.common).
Every part reads one generated sales history (bench/analytics/model.py): the deals service's real default pipeline,
`--managers` managers and a head of sales, 50 campaigns, per client its card, an activity, a survey for 5 %, and 1
or 2 deals walking the pipeline (35 % towards a win, 55 % a loss, 10 % left open). The other services' events are
built from the committed contract examples (contracts/events/<type>.example.json, bench/analytics/events.py).

1. Ingest: `--ingest-events` events produced to the identity, clients and deals topics, then `glassbox consume
   analytics` from the beginning on empty read models, timed from its first offset commit to its last. Bare: a
   consumer from the same `make_consumer()` committing after every poll, timed the same way.
2. KPI latency: the read models loaded in SQL with `--deals` deals of the same model (checked against
   `--sample-events` of the history applied through the consumer's runner), every /kpi endpoint asked as a head of
   sales and as a manager. Bare: the same figures from one SQL query over a raw event log, checked equal.
3. Freshness: the deals service, its relay and the analytics consumer running; probe managers move their own deal
   and poll /kpi/funnel until it shows the move, beside a load of `--rates` HTTP moves/s and then of
   `--outbox-rates` deal events/s written straight into the deals outbox.
4. Rebuild: the topics topped up to `--rebuild-events`, then `glassbox analytics rebuild`. Bare: a consumer of no
   group reading every partition to the same ends.

    .venv/bin/python -m bench.analytics                    # the full size
    .venv/bin/python -m bench.analytics --ingest-events 20000 --rebuild-events 40000 --deals 20000 \\
        --requests 10 --raw-runs 1 --duration 10 --sample-events 5000 --rates 100 --no-docs      # a smoke run

Goals (issue 6, raised by issue 19): ingest >= 5,000 events/s and >= 0.5 of the bare consumer; KPI p95 under 50 ms
at 1,000,000 deals and >= 50 times faster than the raw-event query; freshness p99 under 500 ms at 500 writes/s;
rebuild of 1,000,000 events under 60 s.
"""
