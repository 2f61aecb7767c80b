"""Business gauges on the analytics service's /metrics, computed when Prometheus scrapes (a custom collector:
a few cheap queries over the read models and their totals, never a stored copy that could go stale): open
deals and their amount per stage, stalled and past-due deals per stage, the deals won and lost in the last 30 days,
the receivables by aging bucket, the consumer's lag per partition and the time of the last event it applied. For the Grafana sales dashboard.

The kit's metrics (served on the metrics port, glassbox.metrics) are the process (or multiprocess) registry; the
analytics app adds this collector's samples to them (the metric names differ, so the exposition stays valid)."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from glassbox import clock, metrics
from glassbox.models import ProcessedEvent
from services.analytics import consumers
from services.analytics.kpi.open_deals import open_deals_per_stage
from services.analytics.kpi.payments import receivables_owed
from services.analytics.kpi.scope import Scope
from services.analytics.models import Deal

log = logging.getLogger(__name__)
LAG_TTL = 15.0  # seconds: asking the broker on every scrape of every worker is not needed
CLOSED_WINDOW = timedelta(days=30)


class BusinessCollector:
    def __init__(self, app: Flask):
        self.app = app
        self._lag: tuple[float, dict] = (0.0, {})
        self._lock = threading.Lock()

    def collect(self):
        up = GaugeMetricFamily("analytics_gauges_up", "1 when the business gauges could be computed")
        try:
            families = self._deals() + [self._closed(), *self._receivables(), self._last_event()]
            up.add_metric([], 1)
        except Exception:
            log.exception("business gauges not computed")
            families = []
            up.add_metric([], 0)
        yield up
        yield from families
        yield from self._consumer_lag()

    def _deals(self) -> list:
        db = self.app.extensions["glassbox_db"]
        base = self.app.config["GLASSBOX_SETTINGS"].base_currency
        scope = Scope(now=clock.now(), base_currency=base)
        labels = ["pipeline_id", "stage_id", "stage"]
        deals = GaugeMetricFamily("analytics_open_deals", "Open deals per stage", labels=labels)
        amount = GaugeMetricFamily("analytics_open_deals_amount", f"Amount of the open deals per stage in {base} "
                                   "(at today's rates; see analytics_open_deals_unconverted)", labels=labels)
        unconverted = GaugeMetricFamily("analytics_open_deals_unconverted",
                                        "Open deals per stage whose currency has no rate today",
                                        labels=[*labels, "currency"])
        stalled = GaugeMetricFamily("analytics_stalled_deals", "Open deals longer in their stage than its SLA",
                                    labels=labels)
        past_due = GaugeMetricFamily("analytics_past_due_deals", "Open deals expected to close before today",
                                     labels=labels)
        with db.session() as session:
            rows = open_deals_per_stage(session, scope)
        for row in rows:
            values = [str(row["pipeline_id"] or ""), str(row["stage_id"] or ""), row["stage"] or ""]
            deals.add_metric(values, row["deals"])
            amount.add_metric(values, float(row["amount"]["amount"]))
            stalled.add_metric(values, row["stalled"])
            past_due.add_metric(values, row["past_due"])
            for item in row["amount"]["unconverted"]:
                unconverted.add_metric([*values, item["currency"]], item["deals"])
        return [deals, amount, unconverted, stalled, past_due]

    def _closed(self):
        """Deals won and lost in the last CLOSED_WINDOW days (the closed-deals index): the win rate is a ratio of
        these two in Prometheus."""
        gauge = GaugeMetricFamily("analytics_deals_closed_30d", f"Deals won or lost in the last {CLOSED_WINDOW.days} "
                                  "days", labels=["status"])
        db = self.app.extensions["glassbox_db"]
        with db.session() as session:
            counts = dict(session.execute(select(Deal.status, func.count())
                                          .where(Deal.closed_at >= clock.now() - CLOSED_WINDOW)
                                          .group_by(Deal.status)).all())
        for status in ("won", "lost"):
            gauge.add_metric([status], counts.get(status, 0))
        return gauge

    def _receivables(self):
        """What the issued invoices owe today in the base currency, by aging bucket, and the overdue part."""
        db = self.app.extensions["glassbox_db"]
        base = self.app.config["GLASSBOX_SETTINGS"].base_currency
        now = clock.now()
        today = now.date()
        with db.session() as session:
            owed = receivables_owed(session, Scope(now=now, base_currency=base, date_from=today, date_to=today))
        by_bucket = GaugeMetricFamily("analytics_receivables_amount", f"Owed on issued invoices today in {base}, by "
                                      "days past due", labels=["bucket"])
        for bucket, figure in owed["aging"].items():
            by_bucket.add_metric([bucket], float(figure["amount"]))
        overdue = GaugeMetricFamily("analytics_receivables_overdue_amount", f"Owed past the due date today in {base}")
        overdue.add_metric([], float(owed["overdue"]["amount"]))
        invoices = GaugeMetricFamily("analytics_receivables_overdue_invoices", "Issued invoices past their due date "
                                     "that still owe something")
        invoices.add_metric([], owed["overdue_invoices"])
        return [by_bucket, overdue, invoices]

    def _last_event(self):
        gauge = GaugeMetricFamily("analytics_last_event_processed_timestamp_seconds",
                                  "When the analytics consumer last applied an event (Unix time)")
        db = self.app.extensions["glassbox_db"]
        with db.session() as session:
            last = session.scalar(select(func.max(ProcessedEvent.processed_at))
                                  .where(ProcessedEvent.consumer == consumers.GROUP))
        if last is not None:
            gauge.add_metric([], last.timestamp())
        return gauge

    def _consumer_lag(self):
        gauge = GaugeMetricFamily("analytics_consumer_lag", "Events of a topic partition the analytics consumer "
                                  "group has not committed yet", labels=["topic", "partition"])
        with self._lock:
            checked_at, lag = self._lag
            if time.monotonic() - checked_at > LAG_TTL:
                lag = consumer_lag(self.app.config["KAFKA_BOOTSTRAP_SERVERS"])
                self._lag = (time.monotonic(), lag)
        for (topic, partition), behind in sorted(lag.items()):
            gauge.add_metric([topic, str(partition)], behind)
        yield gauge


def consumer_lag(bootstrap: str, group: str = consumers.GROUP, topics=consumers.TOPICS) -> dict:
    """{(topic, partition): end offset - committed offset} of the group; {} when the broker does not answer."""
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    from glassbox.kafka import make_admin

    try:
        # Bounded: a scrape must not hang on a broker that is down (the answer is cached for LAG_TTL either way).
        admin = make_admin(bootstrap, bootstrap_timeout_ms=2000, request_timeout_ms=2000,
                           client_id="glassbox-analytics-lag")
    except Exception:
        log.debug("lag not measured: no broker", exc_info=True)
        return {}
    try:
        partitions = [TopicPartition(topic["name"], partition["partition_index"])
                      for topic in admin.describe_topics(list(topics)) if not topic.get("error_code")
                      for partition in topic["partitions"]]
        ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
        committed = admin.list_group_offsets(group).get(group, {})
        return {(tp.topic, tp.partition): max(ends[tp].offset - (committed[tp].offset if tp in committed else 0), 0)
                for tp in partitions}
    except Exception:
        log.debug("lag not measured", exc_info=True)
        return {}
    finally:
        admin.close()


def init_app(app: Flask) -> None:
    collected = CollectorRegistry(auto_describe=False)
    collected.register(BusinessCollector(app))
    metrics.add_registry(app, collected)
