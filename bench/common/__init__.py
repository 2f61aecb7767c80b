"""What the benchmarks share; no benchmark imports another. `from bench import common` gives all of it."""
from bench.common.cpu import Cpu, cpu_per_request, group_cpu_seconds, machine_busy_seconds, pg_cpu_seconds
from bench.common.infra import (clients_database, dev_token_signer, exit_cleanly_on_sigterm, free_port, kafka_broker,
                                scalar, server_version, service_databases, workdir)
from bench.common.kafka import BARE_TOPIC, crc32c_implementation, ensure_bare_topic
from bench.common.report import (DOCS_FILE, command_line, facts_block, facts_lines, load_average, machine_facts, median,
                                 goal_tally, now_utc, percentile, phases_table, publish, service_vs_bare,
                                 write_section, write_summary_rows)
from bench.common.servers import (GLASSBOX, Server, ensure_all_running, glassbox_process, gunicorn_env,
                                  gunicorn_settings, serve, start_bare, start_bare_writes, start_stack_floor)
from bench.common.http import (SEED_CLIENTS, http_get, post_json, run_wrk, seed_clients, service_get, wrk_figures,
                               wrk_json, wrk_version)

__all__ = ["BARE_TOPIC", "Cpu", "cpu_per_request", "DOCS_FILE", "GLASSBOX", "SEED_CLIENTS", "Server", "clients_database", "command_line",
           "crc32c_implementation", "dev_token_signer", "ensure_all_running", "ensure_bare_topic",
           "exit_cleanly_on_sigterm", "facts_block", "facts_lines", "free_port", "glassbox_process", "goal_tally",
           "group_cpu_seconds", "gunicorn_env", "gunicorn_settings", "http_get", "kafka_broker", "load_average",
           "machine_busy_seconds", "machine_facts", "median", "now_utc", "percentile", "pg_cpu_seconds",
           "phases_table", "post_json", "publish", "run_wrk", "scalar", "seed_clients", "serve", "server_version",
           "service_databases", "service_get", "service_vs_bare", "start_bare", "start_bare_writes", "start_stack_floor", "workdir", "write_section", "write_summary_rows",
           "wrk_figures", "wrk_json", "wrk_version"]
