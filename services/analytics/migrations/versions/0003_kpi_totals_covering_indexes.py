"""KPI totals kept by triggers; covering indexes for the period scans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:00:00

The summary-like KPIs read every open deal, client and planned activity again for every question. Five tables
now hold their totals per group (services/analytics/models.py, "totals kept by PostgreSQL"), kept by statement-level triggers
with transition tables: one INSERT ... ON CONFLICT DO UPDATE of the changed groups per statement on the read
model (a bulk upsert of 500 deals fires each trigger once), in a stable order of the groups (two writers lock
them in the same order); a group left empty is deleted. What depends on the time of the question stays out of
them: the KPI queries subtract the rows an index finds on the other side of `now`.

The deals created or closed in a period, the open deals by stage entry or expected close date, and the
activities created, done, cancelled in a period or due from now on are read from covering indexes.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OPEN_COVER = ['stage_id', 'stage_probability', 'owner_id', 'pipeline_id', 'client_industry', 'client_region',
              'currency', 'amount', 'closed_at']
CREATED_COVER = ['deal_id', 'status', 'owner_id', 'pipeline_id', 'client_industry', 'client_region', 'stage_id',
                 'stage_position', 'campaign_id', 'client_id']
CLOSED_COVER = ['status', 'created_at', 'currency', 'amount', 'owner_id', 'pipeline_id', 'client_industry',
                'client_region', 'campaign_id', 'client_id', 'lost_reason_id']
ACTIVITY_COVER = ['status', 'assignee_id', 'type', 'type_name', 'client_id']

_OPEN_DEAL_KEY = [("pipeline_id", "pipeline_id"), ("stage_id", "stage_id"),
                  ("stage_probability", "stage_probability"), ("currency", "currency"),
                  ("closed_on", "(timezone('UTC', closed_at))::date"),
                  ("entered", "stage_entered_at IS NOT NULL"), ("dated", "expected_close_on IS NOT NULL")]
_OPEN_DEAL_VALUES = [("deals", "1"), ("amount", "amount")]
_CLIENT_VALUES = [("clients", "1"), ("live", "(archived_at IS NULL)::int")]

# source table -> [(totals table, unique constraint, rows counted, [(key column, expression)], [(value, expression)])]
TOTALS = {
    "deals": [
        ("open_deals_by_owner", "uq_open_deals_by_owner_owner_id", "status = 'open'",
         [("owner_id", "owner_id"), *_OPEN_DEAL_KEY], _OPEN_DEAL_VALUES),
        ("open_deals_by_segment", "uq_open_deals_by_segment_client_industry", "status = 'open'",
         [("client_industry", "client_industry"), ("client_region", "client_region"), *_OPEN_DEAL_KEY],
         _OPEN_DEAL_VALUES),
    ],
    "clients": [
        ("clients_by_owner", "uq_clients_by_owner_owner_id", "true", [("owner_id", "owner_id")], _CLIENT_VALUES),
        ("clients_by_segment", "uq_clients_by_segment_industry", "true",
         [("industry", "industry"), ("region", "region")], _CLIENT_VALUES),
    ],
    "activities": [
        ("planned_activities", "uq_planned_activities_assignee_id", "status = 'planned' AND due_at IS NOT NULL",
         [("assignee_id", "assignee_id"), ("type", "type"), ("type_name", "type_name")], [("activities", "1")]),
    ],
}


def _upsert(table: str, constraint: str, where: str, key: list, values: list, sides: list[tuple[str, str]]) -> str:
    """Add to each group the rows of the new side and subtract those of the old side (transition tables); delete
    the groups left empty (ix_<table>_empty), so that the totals depend only on the rows there are."""
    keys = ", ".join(column for column, _ in key)
    parts = []
    for rows, sign in sides:
        columns = [f"{expression} AS {column}" for column, expression in key]
        columns += [f"{sign}({expression}) AS {column}" for column, expression in values]
        parts.append(f"SELECT {', '.join(columns)} FROM {rows} WHERE {where}")
    sums = ", ".join(f"sum({column})" for column, _ in values)
    changed = " OR ".join(f"sum({column}) <> 0" for column, _ in values)
    updates = ", ".join(f"{column} = t.{column} + excluded.{column}" for column, _ in values)
    return (f"INSERT INTO {table} AS t ({keys}, {', '.join(column for column, _ in values)})\n"
            f"        SELECT {keys}, {sums} FROM ({' UNION ALL '.join(parts)}) AS delta\n"
            f"        GROUP BY {keys} HAVING {changed} ORDER BY {keys}\n"
            f"        ON CONFLICT ON CONSTRAINT {constraint} DO UPDATE SET {updates};\n"
            f"        DELETE FROM {table} WHERE {values[0][0]} = 0;")


def _function(source: str) -> str:
    branches = {"INSERT": [("new_rows", "")], "UPDATE": [("new_rows", ""), ("old_rows", "-")],
                "DELETE": [("old_rows", "-")]}
    body = []
    for i, (operation, sides) in enumerate(branches.items()):
        body.append(f"    {'IF' if i == 0 else 'ELSIF'} TG_OP = '{operation}' THEN")
        body += [f"        {_upsert(*totals, sides)}" for totals in TOTALS[source]]
    body.append("    END IF;")
    return (f"CREATE FUNCTION {source}_kpi_totals() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            + "\n".join(body) + "\n    RETURN NULL;\nEND\n$$")


def _triggers(source: str) -> list[str]:
    return [f"CREATE TRIGGER {source}_kpi_totals_{operation.lower()} AFTER {operation} ON {source} "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {source}_kpi_totals()"
            for operation, referencing in (("INSERT", "NEW TABLE AS new_rows"),
                                           ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                           ("DELETE", "OLD TABLE AS old_rows"))]


def _fill(source: str) -> list[str]:
    """The totals of the rows already there."""
    statements = []
    for table, _, where, key, values in TOTALS[source]:
        columns = [*(column for column, _ in key), *(column for column, _ in values)]
        expressions = [*(expression for _, expression in key), *(f"sum({expression})" for _, expression in values)]
        statements.append(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {source} "
                          f"WHERE {where} GROUP BY {', '.join(str(i + 1) for i in range(len(key)))}")
    return statements


def _totals_table(name: str, key: list, values: list) -> None:
    """No primary key: the key columns may be null (UNIQUE NULLS NOT DISTINCT instead)."""
    op.create_table(name, *key, *[sa.Column(column, type_, nullable=False) for column, type_ in values],
                    sa.UniqueConstraint(*[c.name for c in key], name=op.f(f'uq_{name}_{key[0].name}'),
                                        postgresql_nulls_not_distinct=True))
    count = values[0][0]
    op.create_index(f'ix_{name}_empty', name, [count], unique=False, postgresql_where=sa.text(f'{count} = 0'))


def _open_deal_key() -> list:
    return [sa.Column('pipeline_id', sa.UUID(), nullable=True), sa.Column('stage_id', sa.UUID(), nullable=True),
            sa.Column('stage_probability', sa.SmallInteger(), nullable=True),
            sa.Column('currency', sa.String(length=3), nullable=False),
            sa.Column('closed_on', sa.Date(), nullable=True), sa.Column('entered', sa.Boolean(), nullable=False),
            sa.Column('dated', sa.Boolean(), nullable=False)]


def upgrade() -> None:
    open_values = [('deals', sa.BigInteger()), ('amount', sa.Numeric())]
    client_values = [('clients', sa.BigInteger()), ('live', sa.BigInteger())]
    _totals_table('open_deals_by_owner', [sa.Column('owner_id', sa.UUID(), nullable=True), *_open_deal_key()],
                  open_values)
    _totals_table('open_deals_by_segment', [sa.Column('client_industry', sa.String(length=100), nullable=True),
                                            sa.Column('client_region', sa.String(length=100), nullable=True),
                                            *_open_deal_key()], open_values)
    _totals_table('clients_by_owner', [sa.Column('owner_id', sa.UUID(), nullable=True)], client_values)
    _totals_table('clients_by_segment', [sa.Column('industry', sa.String(length=100), nullable=True),
                                         sa.Column('region', sa.String(length=100), nullable=True)], client_values)
    _totals_table('planned_activities', [sa.Column('assignee_id', sa.UUID(), nullable=True),
                                         sa.Column('type', sa.String(length=50), nullable=True),
                                         sa.Column('type_name', sa.String(length=100), nullable=True)],
                  [('activities', sa.BigInteger())])
    for source in TOTALS:
        op.execute(_function(source))
        for statement in (*_triggers(source), *_fill(source)):
            op.execute(statement)

    op.drop_index('ix_deals_created', table_name='deals')
    op.create_index('ix_deals_created', 'deals', ['created_at'], unique=False, postgresql_include=CREATED_COVER)
    op.drop_index('ix_deals_closed', table_name='deals', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_deals_closed', 'deals', ['closed_at'], unique=False, postgresql_include=CLOSED_COVER,
                    postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_deals_open_entered', 'deals', ['stage_entered_at', 'deal_id'], unique=False,
                    postgresql_include=[*OPEN_COVER, 'expected_close_on'],
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_deals_open_expected', 'deals', ['expected_close_on'], unique=False,
                    postgresql_include=[*OPEN_COVER, 'stage_entered_at'],
                    postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_activities_completed', table_name='activities',
                  postgresql_where=sa.text('completed_at IS NOT NULL'))
    op.create_index('ix_activities_completed', 'activities', ['completed_at'], unique=False,
                    postgresql_include=ACTIVITY_COVER, postgresql_where=sa.text('completed_at IS NOT NULL'))
    op.drop_index('ix_activities_planned_due', table_name='activities',
                  postgresql_where=sa.text("status = 'planned'"))
    op.create_index('ix_activities_planned_due', 'activities', ['due_at'], unique=False,
                    postgresql_include=ACTIVITY_COVER, postgresql_where=sa.text("status = 'planned'"))
    op.drop_index('ix_activities_created', table_name='activities')
    op.create_index('ix_activities_created', 'activities', ['created_at'], unique=False,
                    postgresql_include=ACTIVITY_COVER)
    op.create_index('ix_activities_cancelled', 'activities', ['cancelled_at'], unique=False,
                    postgresql_include=ACTIVITY_COVER, postgresql_where=sa.text('cancelled_at IS NOT NULL'))
    op.drop_index('ix_clients_created', table_name='clients')
    op.create_index('ix_clients_created', 'clients', ['created_at'], unique=False,
                    postgresql_include=['owner_id', 'industry', 'region', 'campaign_id'])


def downgrade() -> None:
    op.drop_index('ix_clients_created', table_name='clients')
    op.create_index('ix_clients_created', 'clients', ['created_at'], unique=False)
    op.drop_index('ix_activities_cancelled', table_name='activities',
                  postgresql_where=sa.text('cancelled_at IS NOT NULL'))
    op.drop_index('ix_activities_created', table_name='activities')
    op.create_index('ix_activities_created', 'activities', ['created_at'], unique=False)
    op.drop_index('ix_activities_planned_due', table_name='activities',
                  postgresql_where=sa.text("status = 'planned'"))
    op.create_index('ix_activities_planned_due', 'activities', ['due_at'], unique=False,
                    postgresql_where=sa.text("status = 'planned'"))
    op.drop_index('ix_activities_completed', table_name='activities',
                  postgresql_where=sa.text('completed_at IS NOT NULL'))
    op.create_index('ix_activities_completed', 'activities', ['completed_at'], unique=False,
                    postgresql_where=sa.text('completed_at IS NOT NULL'))
    op.drop_index('ix_deals_open_expected', table_name='deals', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_deals_open_entered', table_name='deals', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_deals_closed', table_name='deals', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_deals_closed', 'deals', ['closed_at'], unique=False,
                    postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.drop_index('ix_deals_created', table_name='deals')
    op.create_index('ix_deals_created', 'deals', ['created_at'], unique=False)
    for source in TOTALS:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {source}_kpi_totals_{operation} ON {source}")
        op.execute(f"DROP FUNCTION {source}_kpi_totals()")
    for table in ('planned_activities', 'clients_by_segment', 'clients_by_owner', 'open_deals_by_segment',
                  'open_deals_by_owner'):
        op.drop_table(table)
