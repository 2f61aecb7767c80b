"""The Helm chart's values against the registry: one entry per registered service, with its port, and the relay,
consumer and worker it has (and no other), on the metrics ports the registry gives them."""
from glassbox import registry
from tests.support.deploy import helm_values


def test_one_entry_per_registered_service_with_its_port():
    services = helm_values()["services"]
    assert list(services) == list(registry.specs())
    for name, spec in registry.specs().items():
        assert services[name]["port"] == spec.port, name


def test_each_service_has_exactly_the_processes_its_spec_names():
    services = helm_values()["services"]
    for name, spec in registry.specs().items():
        entry = services[name]
        assert entry["serve"]["metricsPort"] == spec.metrics_port, name
        assert bool(entry.get("relay", {}).get("enabled")) == bool(spec.topic), name
        assert bool(entry.get("consume", {}).get("enabled")) == bool(spec.consumers), name
        assert bool(entry.get("work", {}).get("enabled")) == bool(spec.worker), name
        if spec.topic:
            assert entry["relay"]["metricsPort"] == spec.relay_metrics_port, name
        if spec.consumers:
            assert entry["consume"]["metricsPort"] == spec.consumer_metrics_port, name


def test_each_service_reads_its_database_from_a_secret():
    for name, entry in helm_values()["services"].items():
        assert entry["database"]["secretName"], name
