"""The broker's security from the environment, in the config every Kafka client is made with: plaintext by default
(the local broker), TLS with a CA and a client certificate, SASL/SCRAM; a bad or missing value stops the process with
the variable's name."""
import pytest

from glassbox.config import ConfigError
from glassbox.kafka import admin_config, consumer_config, producer_config, security_config

SECURITY = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD",
            "KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE", "KAFKA_SSL_CHECK_HOSTNAME")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SECURITY:
        monkeypatch.delenv(name, raising=False)


def every_client() -> list[dict]:
    return [producer_config("kafka:9093"), consumer_config("kafka:9093", "group", max_poll_records=10),
            admin_config("kafka:9093")]


def test_plaintext_by_default():
    for config in every_client():
        assert config["security_protocol"] == "PLAINTEXT" and "sasl_mechanism" not in config
        assert config["bootstrap_servers"] == "kafka:9093"


def test_sasl_scram_over_tls_with_the_brokers_ca_reaches_every_client(monkeypatch, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "glassbox")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(ca))
    for config in every_client():
        assert {key: config[key] for key in security_config()} == {
            "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "glassbox",
            "sasl_plain_password": "s3cret", "ssl_cafile": str(ca), "ssl_check_hostname": True}
    assert producer_config("kafka:9093")["acks"] == "all"  # the durable settings stay
    assert consumer_config("kafka:9093", "group", max_poll_records=10)["max_poll_records"] == 10


def test_mutual_tls_needs_both_halves_of_the_client_certificate(monkeypatch, tmp_path):
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("pem")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("KAFKA_SSL_CERTFILE", str(tmp_path / "client.crt"))
    with pytest.raises(ConfigError, match="KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together"):
        security_config()
    monkeypatch.setenv("KAFKA_SSL_KEYFILE", str(tmp_path / "client.key"))
    config = security_config()
    assert (config["ssl_certfile"], config["ssl_keyfile"]) == (str(tmp_path / "client.crt"), str(tmp_path / "client.key"))
    assert "sasl_mechanism" not in config


@pytest.mark.parametrize("environment, refusal", [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS' is not valid"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"}, "KAFKA_SASL_PASSWORD is not set"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_MECHANISM='GSSAPI' is not valid"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "p"}, "in clear"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nowhere/ca.crt"}, "no such file"),
    ({"KAFKA_SSL_CAFILE": "/nowhere/ca.crt"}, "does not use TLS"),
])
def test_a_bad_security_setting_is_refused_naming_it(monkeypatch, environment, refusal):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=refusal):
        producer_config("kafka:9093")
