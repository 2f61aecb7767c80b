"""The deals service at scale: the board and the deal lists on a big database next to the same SQL run bare, and
create/move/win requests per second next to the same transactions written bare and next to the stack floor (those
bare transactions behind the service's own request stack), all in one run.

Starts its own PostgreSQL (bench/common; the deals database at its head migration, so with the default
pipeline, the lost reasons and the open_deal_totals trigger) and generates in SQL (INSERT ... SELECT over
generate_series; the secondary indexes and foreign keys of `deals` and `deal_stage_entries` and the totals trigger
are off during the load, the indexes and keys are rebuilt from their own definitions after it and open_deal_totals
is recomputed with migration 0002's own statement, then VACUUM ANALYZE): `--managers` managers (and a head of
sales) in the projection of users, `--clients` client cards in the projection of clients (default deals / 10,
owners spread evenly), `--deals` deals (default 2,000,000) on those clients, owned by the client's owner, in the
default pipeline: 35 % open (most in the early stages; about a quarter stalled, a quarter past due), 25 % won, 40 %
lost (with a reason and a comment), amounts from 10,000 to 10,000,000 RUB (or the same in USD, EUR, CNY), created
over three years, and every deal's stage history (one stay per stage it passed). Each phase is timed.

Part 1, reads: `glassbox serve deals --port P` (gunicorn) answers GET /api/v1/pipelines/{id}/board and GET
/api/v1/deals (first page, a next page by cursor, each filter, search in titles), as a manager (their own deals)
and as a head of sales (everyone's), one request at a time over a keep-alive connection with real RS256 tokens.
**Bare**, in the same run: the SQL statements the service ran for that same request, captured from the service's
own code in this process (services.deals.create_app through Flask's test client) and executed straight through
psycopg on one connection. Per query `--requests` requests (default 100) rotating through up to 10 parameter values,
service and bare alternating request by request.

Part 2, writes: POST /api/v1/deals (create), /deals/{id}/move (to the next stage) and /deals/{id}/win through
that same gunicorn, each as the deal's owner (200 managers' tokens, one deal or client per request, never twice),
and the same requests (method, path, headers, body) to `bench/bare_writes.py` (the same transaction written bare
through psycopg) and to `bench/stack_floor.py` (that bare transaction behind the service's app factory, hooks,
token and user check, schemas and policy; no ORM), both under the same gunicorn settings; runs alternate service,
floor, bare. Load: wrk when it is on the PATH (a Lua script written into the temp dir), else Python threads. Then
each side's app is called in process, one request at a time, for its CPU per request, and create and move are
profiled (bench/common/app_cpu.py). Afterwards the writes are checked in the database (deals created, moved, won)
and open_deal_totals against a fresh GROUP BY of the open deals.

    .venv/bin/python -m bench.deals [--deals 2000000] [--managers 200] [--requests 100]
    .venv/bin/python -m bench.deals --deals 20000 --managers 20 --requests 10 --duration 3 --warmup 1 \\
        --rounds 1 --no-docs      (a quick smoke run: about a minute)

Goal: p95 under 100 ms for the board and the filtered lists at 2,000,000 deals.
"""
