"""`glassbox run --port-offset N`: a second local system beside the first (the browser tests run one).

Every port the run uses moves by N: each service's server and its relay/consumer metrics, the development
mailbox, PostgreSQL and Kafka. Everything already honours its environment variable (`<SERVICE>_URL`,
`GLASSBOX_PG_PORT`, ...), so the offset only fills those in; variables set explicitly are kept."""
from __future__ import annotations

from glassbox import config

DEV_MAIL_PORT = 8025  # the development mailbox (`glassbox mail sink`)
MAX_OFFSET = 65535 - config.EMBEDDED_PG_PORT  # the highest default port must still be a port


def check_offset(offset: int) -> int:
    if not 0 <= offset <= MAX_OFFSET:
        raise config.ConfigError(f"--port-offset must be between 0 and {MAX_OFFSET}, not {offset}")
    return offset


def shifted_environment(offset: int, specs: dict, environ: dict) -> dict[str, str]:
    """The variables to add to `environ` so that every process of the run listens `offset` ports higher."""
    check_offset(offset)
    if offset == 0:
        return {}
    wanted = {
        "GLASSBOX_PG_PORT": config.EMBEDDED_PG_PORT + offset,
        "GLASSBOX_KAFKA_PORT": config.LOCAL_KAFKA_PORT + offset,
        "GLASSBOX_KAFKA_CONTROLLER_PORT": config.LOCAL_KAFKA_CONTROLLER_PORT + offset,
        "NOTIFICATIONS_MAIL_SINK_PORT": DEV_MAIL_PORT + offset,
        "NOTIFICATIONS_SMTP_PORT": DEV_MAIL_PORT + offset,
    }
    values = {name: str(port) for name, port in wanted.items()}
    for name, spec in specs.items():
        values[f"{name.upper()}_URL"] = f"http://127.0.0.1:{spec.port + offset}"
    gateway = values.get("GATEWAY_URL")
    if gateway:  # unsubscribe links point at the gateway people reach
        values["NOTIFICATIONS_PUBLIC_URL"] = gateway
    return {name: value for name, value in values.items() if not environ.get(name)}
