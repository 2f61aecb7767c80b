"""The billing service: the first render of an invoice's printed form through the API next to WeasyPrint run bare,
repeat GETs of the stored forms, and the receivables on a big database next to the same SQL run bare, in one run.

Starts its own PostgreSQL (bench/common; the billing database at its head migration) and generates in SQL
(INSERT ... SELECT over generate_series; the secondary indexes and foreign keys of the tables off during the load,
rebuilt from their own definitions after it, then VACUUM ANALYZE): `--managers` managers, a head of sales and an
accountant in the projection of users, `--clients` client cards (default 50,000; owners round robin, valid INNs,
2 % archived) in the projection of clients, and `--invoices` invoices (default 1,000,000) on them: 85 % paid, 9 %
issued, 3 % partially paid (the open ones due from 200 days ago to 60 days ahead), 2 % cancelled, 1 % drafts,
numbered per year in the order of issue; a payment per paid or partially paid invoice with its allocation (3 % with
credit left), advances not allocated and reversed payments; payment plans for 10 % of the open invoices and 2 % of
the paid ones. Each phase is timed.

Part 1, documents (bench/billing/documents.py): `glassbox serve billing --port P` (gunicorn); the seller's
requisites set and `--doc-warmup` + `--doc-rounds` invoices of `--lines` lines (default 20) drafted and issued through
the API. Per round, one invoice never printed before: its first GET /api/v1/invoices/{id}/document (rendered and
stored by the service) next to WeasyPrint rendering the same data's HTML bare in this process and the package's
render_pdf in this process, the order alternating; ratio = bare / API seconds, median of the rounds. Then
`--repeat-requests` GETs of the stored forms next to the SQL the service ran for them, run bare.

Part 2, receivables (bench/billing/receivables.py): GET /api/v1/receivables per client and per manager, with and
without from/to (a month: planned vs received), for one client and for one manager's clients, as the head of sales
and as manager no. 1, one request at a time over a keep-alive connection with real RS256 tokens. **Bare**, in the
same run: the SQL statements the service ran for that same request, captured from the service's own code in this
process (services.billing.create_app through Flask's test client) and executed through psycopg; service and bare
alternate request by request. A query over the goal has its EXPLAIN (ANALYZE, BUFFERS) printed on the console.

    .venv/bin/python -m bench.billing [--invoices 1000000] [--clients 50000] [--managers 200]
    .venv/bin/python -m bench.billing --invoices 20000 --clients 2000 --managers 20 --requests 10 --doc-rounds 3 \\
        --doc-warmup 2 --repeat-requests 20 --no-docs      (a quick smoke run: under a minute)

Goals: the first render of a 20-line invoice through the API >= 0.8 of WeasyPrint bare; a repeat GET of an issued
document p95 < 20 ms; each receivables query p95 < 100 ms at 1,000,000 invoices.
"""
