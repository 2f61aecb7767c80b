"""The generated history as INSERT ... SELECT statements over the read models, and the raw event log the bare
KPI queries read."""
from __future__ import annotations

from bench.analytics import events as ev
from bench.analytics.model import (ACTIVITY_CANCELLED, ACTIVITY_DONE, ACTIVITY_TYPES, CAMPAIGNS, CHANNELS,
                                   CLIENT_ARCHIVE, CLIENT_ASSIGN, CLIENT_CAMPAIGN, CLIENT_UPDATE, CURRENCIES,
                                   DEAL_CAMPAIGN, DEAL_REASSIGN, DEAL_UPDATE, EXPECTED, FX_RATES, HEAD_ID, INDUSTRIES,
                                   LEAD_DAYS, LOST, LOST_AT, MIN_STEP_DAYS, NPS, REGIONS, SLOW, SLOW_DAYS, SPAN_DAYS,
                                   STEP_DAYS, SURVEY, WON, WON_AT_CONTRACT)

RAW_TABLE = "bench_deal_event_log"


def generation_sql(deals: int, managers: int, pipeline: dict, reasons: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The same model as History, as INSERT ... SELECT statements over generate_series (parameter :now)."""
    clients = (deals - 1) * 2 // 3 + 1  # deal j (1-based) belongs to client (j - 1) * 2 / 3: 2, 1, 2, 1, ... deals
    stages = pipeline["stages"]
    ids = "ARRAY[" + ", ".join(f"'{s['stage_id']}'" for s in stages) + "]::uuid[]"
    names = "ARRAY[" + ", ".join("'" + s["name"].replace("'", "''") + "'" for s in stages) + "]"
    probabilities = "ARRAY[" + ", ".join(str(s["probability"]) for s in stages) + "]"
    reason_ids = "ARRAY[" + ", ".join(f"'{r}'" for r, _ in reasons) + "]::uuid[]"
    reason_names = "ARRAY[" + ", ".join("'" + n.replace("'", "''") + "'" for _, n in reasons) + "]"

    def pick(values, u: str) -> str:
        return "(ARRAY[" + ", ".join(f"'{v}'" for v in values) + f"])[1 + floor({u} * {len(values)})::int]"

    lost_at = "CASE " + " ".join(f"WHEN u_target < {cum} THEN {k}" for k, cum in enumerate(LOST_AT)) + " ELSE 4 END"
    currency = "CASE " + " ".join(f"WHEN u_currency < {cum} THEN '{code}'" for code, cum, _ in CURRENCIES[:-1]) + \
        f" ELSE '{CURRENCIES[-1][0]}' END"
    divisor = "CASE " + " ".join(f"WHEN u_currency < {cum} THEN {div}" for _, cum, div in CURRENCIES[:-1]) + \
        f" ELSE {CURRENCIES[-1][2]} END"
    at = f"(CAST(:now AS timestamptz) - interval '{SPAN_DAYS + 60} days')"
    return {
        "users, pipeline, stages, campaigns, exchange rates": [
            "SELECT setseed(0.42)",
            f"""INSERT INTO users (user_id, full_name, team_id, profile_time, email, role, is_active, state_time)
                SELECT md5('bench-manager-' || k)::uuid, 'Manager ' || k, md5('bench-team-' || (k % 10))::uuid, {at},
                       left(md5('bench-manager-' || k)::uuid::text, 8) || '@glassbox.example', 'manager', true, {at}
                FROM generate_series(1, {managers}) k
                UNION ALL
                SELECT '{HEAD_ID}', 'Head of sales', NULL, {at}, '{HEAD_ID[:8]}@glassbox.example', 'head_of_sales',
                       true, {at}""",
            f"""INSERT INTO pipelines (pipeline_id, name, is_default, created_at, last_event_time)
                VALUES ('{pipeline['pipeline_id']}', '{pipeline['name']}', true, '{ev.T0.isoformat()}', {at})""",
            *[f"""INSERT INTO stages (stage_id, pipeline_id, name, position, probability, sla_days, is_active,
                                      last_event_time)
                  VALUES ('{s['stage_id']}', '{pipeline['pipeline_id']}', '{s['name']}', {s['position']},
                          {s['probability']}, {s['sla_days'] if s['sla_days'] is not None else 'NULL'}, true, {at})"""
              for s in stages],
            f"""INSERT INTO campaigns (campaign_id, name, channel, channel_name, starts_on, ends_on, cost_amount,
                                       cost_currency, last_event_time)
                SELECT md5('bench-campaign-' || k)::uuid, 'Campaign ' || k, ch,
                       initcap(replace(ch, '_', ' ')), s, s + 90,
                       CASE WHEN k % 10 = 0 THEN round((100000 + k * 37000) / 90.0, 2) ELSE 100000 + k * 37000 END,
                       CASE WHEN k % 10 = 0 THEN 'USD' ELSE 'RUB' END, {at}
                FROM (SELECT k, (ARRAY[{', '.join(repr(c) for c in CHANNELS)}])[1 + k % {len(CHANNELS)}] AS ch,
                             (CAST(:now AS timestamptz) - interval '1 day' * ({SPAN_DAYS}
                              - (k - 1) * {SPAN_DAYS}.0 / {CAMPAIGNS}))::date AS s
                      FROM generate_series(1, {CAMPAIGNS}) k) g""",
            *[f"""INSERT INTO fx_rates (id, currency, rate_to_base, valid_from, created_by, created_at)
                  VALUES (md5('bench-fx-{code}')::uuid, '{code}', {rate}, CAST(:now AS date) - 2000, '{HEAD_ID}',
                          CAST(:now AS timestamptz))""" for code, rate in FX_RATES.items()],
        ],
        "clients": [
            f"""INSERT INTO clients (client_id, name, industry, region, source_channel, campaign_id, status,
                                     created_at, card_time, owner_id, owner_time, archived_at, archived_time)
                SELECT id, 'Client ' || c, industry, region, channel, campaign,
                       CASE WHEN tu IS NOT NULL THEN 'active' ELSE 'prospect' END, created, coalesce(tu, created),
                       CASE WHEN ta IS NOT NULL THEN md5('bench-manager-' || (1 + (c + 3) % {managers}))::uuid
                            ELSE md5('bench-manager-' || (1 + c % {managers}))::uuid END,
                       greatest(created, tu, ta, tr), tr, greatest(created, tu, tr)
                FROM (SELECT c, id, industry, region, channel, campaign, created,
                             CASE WHEN u_upd < {CLIENT_UPDATE} AND created + interval '1 day' * u_tu * 100
                                       <= CAST(:now AS timestamptz)
                                  THEN created + interval '1 day' * u_tu * 100 END AS tu,
                             CASE WHEN u_asg < {CLIENT_ASSIGN} AND created + interval '1 day' * u_ta * 200
                                       <= CAST(:now AS timestamptz)
                                  THEN created + interval '1 day' * u_ta * 200 END AS ta,
                             CASE WHEN u_arc < {CLIENT_ARCHIVE} AND created + interval '1 day' * (100 + u_tr * 300)
                                       <= CAST(:now AS timestamptz)
                                  THEN created + interval '1 day' * (100 + u_tr * 300) END AS tr
                      FROM (SELECT c, md5('bench-d-client-' || c)::uuid AS id,
                                   CAST(:now AS timestamptz) - interval '1 day' * ({LEAD_DAYS} + random() * {SPAN_DAYS})
                                       AS created,
                                   {pick(INDUSTRIES, 'random()')} AS industry, {pick(REGIONS, 'random()')} AS region,
                                   {pick(CHANNELS, 'random()')} AS channel,
                                   CASE WHEN random() < {CLIENT_CAMPAIGN}
                                        THEN md5('bench-campaign-' || (1 + floor(random() * {CAMPAIGNS})::int))::uuid
                                   END AS campaign,
                                   random() AS u_upd, random() AS u_tu, random() AS u_asg, random() AS u_ta,
                                   random() AS u_arc, random() AS u_tr
                            FROM generate_series(0, {clients - 1}) c) r) g""",
        ],
        "activities and surveys": [
            f"""INSERT INTO activities (activity_id, client_id, deal_id, owner_id, assignee_id, type, type_name,
                                        status, due_at, completed_at, cancelled_at, created_at, last_event_time)
                SELECT id, client_id, NULL, owner_id, owner_id, type, initcap(type),
                       CASE WHEN done_at IS NOT NULL THEN 'done' WHEN cancelled_at IS NOT NULL THEN 'cancelled'
                            ELSE 'planned' END,
                       due, done_at, cancelled_at, planned, coalesce(done_at, cancelled_at, planned)
                FROM (SELECT id, client_id, owner_id, type, planned, due,
                             CASE WHEN u < {ACTIVITY_DONE}
                                   AND greatest(planned, due - interval '1 day' * u_at * 2) <= CAST(:now AS timestamptz)
                                  THEN greatest(planned, due - interval '1 day' * u_at * 2) END AS done_at,
                             CASE WHEN u >= {ACTIVITY_DONE} AND u < {ACTIVITY_CANCELLED}
                                   AND planned + interval '1 day' * u_at * 5 <= CAST(:now AS timestamptz)
                                  THEN planned + interval '1 day' * u_at * 5 END AS cancelled_at
                      FROM (SELECT md5('bench-d-activity-' || client_id)::uuid AS id, client_id, owner_id, type,
                                   planned, planned + interval '1 day' * (1 + u_due * 13) AS due, u, u_at
                            FROM (SELECT client_id, owner_id, {pick(ACTIVITY_TYPES, 'random()')} AS type,
                                         created_at + interval '1 day' * random() * {LEAD_DAYS} AS planned,
                                         random() AS u_due, random() AS u, random() AS u_at
                                  FROM clients) a) b) g""",
            f"""INSERT INTO surveys (survey_id, client_id, owner_id, kind, score, surveyed_on, created_at)
                SELECT md5('bench-d-survey-' || client_id)::uuid, client_id, owner_id,
                       CASE WHEN nps THEN 'nps' ELSE 'csat' END,
                       CASE WHEN nps THEN floor(u_score * 11)::int ELSE 1 + floor(u_score * 5)::int END, at::date, at
                FROM (SELECT client_id, owner_id, created_at + interval '1 day' * (30 + random() * 30) AS at,
                             random() < {NPS} AS nps, random() AS u_score, random() AS u
                      FROM clients) s
                WHERE u < {SURVEY} AND at <= CAST(:now AS timestamptz)""",
        ],
        "deals": [
            f"""INSERT INTO deals (deal_id, title, status, amount, currency, client_id, client_industry, client_region,
                                   campaign_id, client_campaign_id, pipeline_id, stage_id, stage_name, stage_position,
                                   stage_probability, owner_id, expected_close_on, created_at, updated_at,
                                   stage_entered_at, closed_at, lost_reason_id, lost_reason_name, last_event_time)
                SELECT deal_id, CASE WHEN upd_t IS NOT NULL THEN title || ' (revised)' ELSE title END,
                       CASE WHEN closed THEN outcome ELSE 'open' END,
                       round((10 ^ (4 + 3 * u_amount))::numeric / {divisor}, 2), {currency}, client_id, industry,
                       region, campaign, client_campaign, '{pipeline['pipeline_id']}', ({ids})[1 + reached],
                       ({names})[1 + reached], reached, ({probabilities})[1 + reached],
                       CASE WHEN rea_t IS NOT NULL THEN md5('bench-manager-' || (1 + (c + 7) % {managers}))::uuid
                            ELSE owner END,
                       expected, created, last_t, created + reached * step,
                       CASE WHEN closed THEN close_at END,
                       CASE WHEN closed AND outcome = 'lost' THEN ({reason_ids})[1 + floor(u_reason * {len(reasons)})::int]
                       END,
                       CASE WHEN closed AND outcome = 'lost' THEN ({reason_names})[1 + floor(u_reason * {len(reasons)})::int]
                       END,
                       last_t
                FROM (SELECT *, greatest(created + reached * step, CASE WHEN closed THEN close_at END, upd_t, rea_t)
                                    AS last_t
                      FROM (SELECT *, outcome <> 'open' AND close_at <= CAST(:now AS timestamptz) AS closed,
                                   least(target, floor(extract(epoch FROM CAST(:now AS timestamptz) - created)
                                                       / extract(epoch FROM step))::int) AS reached,
                                   CASE WHEN u_update < {DEAL_UPDATE} AND created + 0.3 * step <= CAST(:now AS timestamptz)
                                        THEN created + 0.3 * step END AS upd_t,
                                   CASE WHEN u_reassign < {DEAL_REASSIGN}
                                         AND created + 0.6 * step <= CAST(:now AS timestamptz)
                                        THEN created + 0.6 * step END AS rea_t,
                                   CASE WHEN u_expected < {EXPECTED}
                                        THEN (close_at + interval '1 day' * (-10 + u_exp * 40))::date END AS expected
                            FROM (SELECT *, created + (target + 1) * step AS close_at
                                  FROM (SELECT r.*, md5('bench-d-deal-' || r.j)::uuid AS deal_id, 'Deal ' || r.j AS title,
                                               cl.client_id, cl.industry, cl.region,
                                               cl.campaign_id AS client_campaign,
                                               md5('bench-manager-' || (1 + r.c % {managers}))::uuid AS owner,
                                               cl.created_at + interval '1 day' * r.u_created * {LEAD_DAYS} AS created,
                                               CASE WHEN r.u_outcome < {WON} THEN 'won' WHEN r.u_outcome < {LOST} THEN 'lost'
                                                    ELSE 'open' END AS outcome,
                                               CASE WHEN r.u_outcome < {WON}
                                                    THEN CASE WHEN r.u_target < {WON_AT_CONTRACT} THEN 4 ELSE 3 END
                                                    WHEN r.u_outcome < {LOST} THEN {lost_at.replace('u_target', 'r.u_target')}
                                                    ELSE floor(r.u_target * 5)::int END AS target,
                                               interval '1 day' * greatest({MIN_STEP_DAYS}, -ln(1 - r.u_step)
                                                   * CASE WHEN r.u_slow < {SLOW} THEN {SLOW_DAYS} ELSE {STEP_DAYS} END)
                                                   AS step,
                                               CASE WHEN r.u_campaign < {DEAL_CAMPAIGN}
                                                    THEN md5('bench-campaign-' || (1 + floor(r.u_which * {CAMPAIGNS})::int))::uuid
                                               END AS campaign
                                        FROM (SELECT j, (j - 1) * 2 / 3 AS c, random() AS u_created,
                                                     random() AS u_outcome, random() AS u_target, random() AS u_slow,
                                                     random() AS u_step, random() AS u_amount, random() AS u_currency,
                                                     random() AS u_expected, random() AS u_exp, random() AS u_campaign,
                                                     random() AS u_which, random() AS u_update, random() AS u_reassign,
                                                     random() AS u_reason
                                              FROM generate_series(1, {deals}) j) r
                                        JOIN clients cl ON cl.client_id = md5('bench-d-client-' || r.c)::uuid) a) b) d) e""",
        ],
        "stage entries": [
            # One stay per stage passed, from creation to the current stage; the last one left at the closing.
            """INSERT INTO stage_entries (deal_id, entered_at, pipeline_id, stage_id, stage_position, left_at)
               SELECT d.deal_id,
                      CASE WHEN k = d.stage_position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) / d.stage_position * k END,
                      d.pipeline_id, s.stage_id, k,
                      CASE WHEN k = d.stage_position THEN d.closed_at
                           WHEN k + 1 = d.stage_position THEN d.stage_entered_at
                           ELSE d.created_at + (d.stage_entered_at - d.created_at) / d.stage_position * (k + 1) END
               FROM deals d CROSS JOIN LATERAL generate_series(0, d.stage_position) k
               JOIN stages s ON s.pipeline_id = d.pipeline_id AND s.position = k""",
        ],
        "sales plans, commission schemes": _plans_sql(managers),
    }


def _plans_sql(managers: int) -> list[str]:
    """A plan for every manager and (in `sum` mode) team for the current month and the last one, and one scheme of
    three tiers with a deal bonus for every team (/kpi/plans, /kpi/commissions)."""
    month = "date_trunc('month', CAST(:now AS timestamptz) AT TIME ZONE 'UTC')::date"
    months = f"(VALUES ({month}), (({month} - interval '1 month')::date)) m(start)"
    tiers = ('[{"from_pct": "0", "to_pct": "80", "rate_pct": "3"}, {"from_pct": "80", "to_pct": "100", '
             '"rate_pct": "5"}, {"from_pct": "100", "to_pct": null, "rate_pct": "7"}]')
    bonus = ('{"amount": {"amount": "5000.00", "currency": "RUB"}, '
             '"min_deal_amount": {"amount": "100000.00", "currency": "RUB"}}')
    return [
        f"""INSERT INTO sales_plans (plan_id, period_kind, period_start, period_end, manager_id, team_id, mode,
                                     revenue_won_amount, revenue_won_currency, revenue_paid_amount,
                                     revenue_paid_currency, deals_won, activities, last_event_time)
            SELECT md5('bench-plan-' || k || m.start)::uuid, 'month', m.start,
                   (m.start + interval '1 month' - interval '1 day')::date, md5('bench-manager-' || k)::uuid, NULL,
                   'own', 1500000, 'RUB', 1200000, 'RUB', 6, '{{"call": 40, "meeting": 8}}', CAST(:now AS timestamptz)
            FROM generate_series(1, {managers}) k CROSS JOIN {months}
            UNION ALL
            SELECT md5('bench-team-plan-' || t || m.start)::uuid, 'month', m.start,
                   (m.start + interval '1 month' - interval '1 day')::date, NULL, md5('bench-team-' || t)::uuid,
                   'sum', NULL, NULL, NULL, NULL, NULL, NULL, CAST(:now AS timestamptz)
            FROM generate_series(0, 9) t CROSS JOIN {months}""",
        f"""INSERT INTO commission_schemes (scheme_id, name, versions, last_event_time)
            SELECT md5('bench-scheme')::uuid, 'Standard',
                   json_build_array(json_build_object('version', 1, 'valid_from', '2000-01-01', 'base', 'revenue_won',
                                    'tiers', '{tiers}'::json, 'deal_bonus', '{bonus}'::json,
                                    'manager_ids', '[]'::json,
                                    'team_ids', (SELECT json_agg(md5('bench-team-' || t)::uuid)
                                                 FROM generate_series(0, 9) t)
                   ))::text, CAST(:now AS timestamptz)""",
    ]


def _iso(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def raw_log_sql(pipeline: dict) -> list[str]:
    """The deal events as an event log: one row per event (created, each stage change, won or lost), the whole
    snapshot as its JSONB payload, as the deals service publishes it. Built from the generated rows; updated and
    reassigned events are left out (the snapshots carry the final owner and title), which makes the log smaller
    than the consumer's stream, not bigger."""
    snapshot = f"""jsonb_build_object(
        'deal_id', d.deal_id, 'title', d.title, 'amount', jsonb_build_object('amount', d.amount::text, 'currency',
        d.currency), 'client_id', d.client_id, 'client_name', 'Client', 'client_industry', d.client_industry,
        'client_region', d.client_region, 'campaign_id', d.campaign_id, 'pipeline_id', d.pipeline_id,
        'pipeline_name', '{pipeline['name']}', 'owner_id', d.owner_id,
        'expected_close_on', d.expected_close_on, 'created_at', {_iso('d.created_at')}, 'actor_id', d.owner_id)"""
    stage = """jsonb_build_object('stage_id', e.stage_id, 'stage_name', s.name, 'stage_position', e.stage_position,
        'stage_probability', s.probability)"""
    return [
        f"DROP TABLE IF EXISTS {RAW_TABLE}",
        f"""CREATE TABLE {RAW_TABLE} (id uuid PRIMARY KEY, type text NOT NULL, source text NOT NULL,
                                      subject uuid NOT NULL, time timestamptz NOT NULL, data jsonb NOT NULL)""",
        f"""INSERT INTO {RAW_TABLE} (id, type, source, subject, time, data)
            SELECT gen_random_uuid(),
                   CASE WHEN e.stage_position = 0 THEN 'crm.deal.created.v1' ELSE 'crm.deal.stage_changed.v1' END,
                   '/crm/deals', d.deal_id, e.entered_at,
                   {snapshot} || {stage} || jsonb_build_object(
                       'status', 'open', 'updated_at', {_iso('e.entered_at')},
                       'stage_entered_at', {_iso('e.entered_at')}, 'closed_at', NULL, 'lost_reason_id', NULL,
                       'lost_reason_name', NULL, 'lost_comment', NULL)
                   || CASE WHEN e.stage_position = 0 THEN '{{}}'::jsonb ELSE jsonb_build_object(
                       'previous_stage_id', p.stage_id, 'previous_stage_name', ps.name,
                       'previous_stage_position', p.stage_position,
                       'previous_stage_entered_at', {_iso('p.entered_at')},
                       'days_in_previous_stage', round((extract(epoch FROM e.entered_at - p.entered_at) / 86400)::numeric, 2))
                      END
            FROM stage_entries e JOIN deals d ON d.deal_id = e.deal_id JOIN stages s ON s.stage_id = e.stage_id
            LEFT JOIN stage_entries p ON p.deal_id = e.deal_id AND p.left_at = e.entered_at
                                     AND p.stage_position = e.stage_position - 1
            LEFT JOIN stages ps ON ps.stage_id = p.stage_id""",
        f"""INSERT INTO {RAW_TABLE} (id, type, source, subject, time, data)
            SELECT gen_random_uuid(), 'crm.deal.' || d.status || '.v1', '/crm/deals', d.deal_id, d.closed_at,
                   {snapshot} || jsonb_build_object(
                       'stage_id', d.stage_id, 'stage_name', d.stage_name, 'stage_position', d.stage_position,
                       'stage_probability', d.stage_probability, 'status', d.status,
                       'updated_at', {_iso('d.closed_at')}, 'stage_entered_at', {_iso('d.stage_entered_at')},
                       'closed_at', {_iso('d.closed_at')}, 'lost_reason_id', d.lost_reason_id,
                       'lost_reason_name', d.lost_reason_name,
                       'lost_comment', CASE WHEN d.status = 'lost' THEN 'no' END)
            FROM deals d WHERE d.status <> 'open'""",
        f"CREATE INDEX ix_{RAW_TABLE}_subject_time ON {RAW_TABLE} (subject, time)",
    ]
