"""The chart as `helm template` renders it (needs helm: `make check-deploy` builds it into var/tools; skipped
without it): a Deployment per process with the command the local run uses, consumers capped at the partitions, the
migration hook, autoscaling and disruption budgets of the HTTP services, secrets only by reference."""
import subprocess

import pytest
import yaml

from glassbox import registry
from tests.support.deploy import deploy_file, procfile_processes, tool

HELM = tool("helm")
pytestmark = pytest.mark.skipif(HELM is None, reason="helm is not built (make check-deploy builds it)")


def render(*settings: str) -> list[dict]:
    command = [HELM, "template", "rel", str(deploy_file("helm", "glassbox"))]
    for setting in settings:
        command += ["--set", setting]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def of_kind(documents, kind) -> dict:
    return {document["metadata"]["name"]: document for document in documents if document["kind"] == kind}


def container(deployment) -> dict:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env_of(deployment) -> dict:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container(deployment)["env"]}


PROCESS_OF = {"serve": "", "relay": "-relay", "consume": "-consumer", "work": "-worker"}


def test_a_deployment_per_process_of_the_local_run_with_its_command():
    deployments = of_kind(render(), "Deployment")
    stand_ins = {f"{name}-{process}" for name, spec in registry.specs().items() for process, _ in spec.local_processes}
    expected = {name: command for name, command in procfile_processes().items() if name not in stand_ins}
    rendered = {}
    for deployment in deployments.values():
        labels = deployment["metadata"]["labels"]
        process = labels["glassbox.io/service"] + PROCESS_OF[labels["glassbox.io/process"]]
        args = container(deployment)["args"]
        if args[0] == "serve":
            args = args[:2]  # the chart names the ports; the local run takes the defaults, the same ones
        rendered[process] = " ".join(["glassbox", *args])
    assert rendered == expected


def test_http_pods_are_probed_on_health_and_the_others_on_metrics():
    for deployment in of_kind(render(), "Deployment").values():
        kind = deployment["metadata"]["labels"]["glassbox.io/process"]
        probes = container(deployment)
        if kind == "serve":
            assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"
            assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
        elif kind in ("relay", "consume"):
            assert probes["livenessProbe"]["httpGet"]["path"] == "/metrics"


def test_prometheus_scrapes_a_metrics_port_that_no_service_exposes():
    documents = render()
    exposed = {port["targetPort"] for service in of_kind(documents, "Service").values()
               for port in service["spec"]["ports"]}
    for name, deployment in of_kind(documents, "Deployment").items():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if deployment["metadata"]["labels"]["glassbox.io/process"] == "work":
            continue
        ports = {port["name"]: port["containerPort"] for port in container(deployment)["ports"]}
        assert int(annotations["prometheus.io/port"]) == ports["metrics"], name
        assert exposed == {"http"} and ports.get("http") != ports["metrics"], name
    gateway = container(of_kind(documents, "Deployment")["rel-glassbox-gateway"])
    assert gateway["args"] == ["serve", "gateway", "--port", "8000", "--metrics-port", "9000"]


def test_consumers_never_outnumber_the_partitions():
    deployments = of_kind(render("services.analytics.consume.replicas=10", "kafka.partitions=6"), "Deployment")
    assert deployments["rel-glassbox-analytics-consume"]["spec"]["replicas"] == 6
    deployments = of_kind(render("services.analytics.consume.replicas=2"), "Deployment")
    assert deployments["rel-glassbox-analytics-consume"]["spec"]["replicas"] == 2


def test_migrations_run_as_a_hook_before_install_and_upgrade_with_every_database():
    [job] = of_kind(render(), "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    spec = job["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["args"][0] == "topics"
    [migrate] = spec["containers"]
    assert migrate["args"] == ["db", "upgrade", "all"]
    sources = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in migrate["env"]}
    assert set(sources) == {f"{name.upper()}_DATABASE_URL" for name in registry.specs()}


def test_http_services_autoscale_and_keep_pods_through_drains():
    documents = render()
    autoscalers, budgets = of_kind(documents, "HorizontalPodAutoscaler"), of_kind(documents, "PodDisruptionBudget")
    for name in registry.specs():
        assert autoscalers[f"rel-glassbox-{name}"]["spec"]["scaleTargetRef"]["name"] == f"rel-glassbox-{name}"
        assert f"rel-glassbox-{name}" in budgets
    assert "replicas" not in of_kind(documents, "Deployment")["rel-glassbox-clients"]["spec"]  # the HPA decides


def test_secrets_are_referenced_never_inlined_and_a_rotation_publishes_the_old_key():
    deployments = of_kind(render("jwt.extraPublicKeyKeys={old-public.pem}"), "Deployment")
    gateway = env_of(deployments["rel-glassbox-gateway"])
    assert gateway["JWT_PRIVATE_KEY_FILE"] == "/var/run/glassbox/jwt/jwt-private.pem"
    assert gateway["JWT_EXTRA_PUBLIC_KEY_FILES"] == "/var/run/glassbox/jwt/old-public.pem"
    notifications = env_of(deployments["rel-glassbox-notifications-work"])
    assert notifications["NOTIFICATIONS_UNSUBSCRIBE_SECRET"] == {
        "secretKeyRef": {"name": "glassbox-notifications", "key": "unsubscribe-secret"}}
    assert notifications["NOTIFICATIONS_DATABASE_URL"] == {
        "secretKeyRef": {"name": "glassbox-notifications-db", "key": "uri"}}
    assert "JWT_PRIVATE_KEY_FILE" not in env_of(deployments["rel-glassbox-clients"])  # only the gateway signs


def test_every_variable_the_chart_sets_is_read_by_the_code():
    from tests.support.deploy import variables_read

    read = variables_read()
    for deployment in of_kind(render(), "Deployment").values():
        unknown = set(env_of(deployment)) - read
        assert not unknown, f"{deployment['metadata']['name']} sets {sorted(unknown)}, which no code reads"


def test_kafka_security_reaches_every_process_with_its_secrets_by_reference():
    documents = render("kafka.securityProtocol=SASL_SSL", "kafka.sasl.username=glassbox",
                       "kafka.sasl.passwordSecret.name=glassbox-kafka-user", "kafka.tls.caSecret.name=cluster-ca")
    [job] = of_kind(documents, "Job").values()
    pods = [deployment["spec"]["template"]["spec"] for deployment in of_kind(documents, "Deployment").values()]
    for pod in [*pods, job["spec"]["template"]["spec"]]:
        for process in [*pod.get("initContainers", []), *pod["containers"]]:
            if process["args"][:3] == ["db", "upgrade", "all"]:
                continue  # the migrations talk to PostgreSQL only
            env = {item["name"]: item.get("value", item.get("valueFrom")) for item in process["env"]}
            assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_USERNAME"] == "glassbox"
            assert env["KAFKA_SASL_PASSWORD"] == {"secretKeyRef": {"name": "glassbox-kafka-user", "key": "password"}}
            assert env["KAFKA_SSL_CAFILE"] == "/var/run/glassbox/kafka-ca/ca.crt"
            mounts = {mount["name"]: mount["mountPath"] for mount in process["volumeMounts"]}
            assert mounts["kafka-ca"] == "/var/run/glassbox/kafka-ca"
        assert {"name": "kafka-ca", "secret": {"secretName": "cluster-ca"}} in pod["volumes"]
    plain = container(of_kind(render(), "Deployment")["rel-glassbox-clients"])
    assert not {"KAFKA_SASL_USERNAME", "KAFKA_SSL_CAFILE"} & {item["name"] for item in plain["env"]}
