"""The deployment files in deploy/ held to the code they run, so that they can't rot.

Every environment variable the Dockerfile, compose.yaml, .env.example and the Kubernetes
manifests set is a setting (`Settings.model_fields`, through its aliases and env prefix)
or a variable of the third-party image it is given to; every `metaverse` command they run
parses with the CLI's own parser; every probe targets a path the role serves, on the port
its settings give it; and the environment each process gets builds valid `Settings`.

The tools' own validation runs where they are installed: `docker compose config` (needs
the compose plugin, not an engine) on compose.yaml, and `kubectl kustomize` (offline) on
deploy/k8s. `kubectl apply --dry-run=client` is not used: it asks a cluster for its API
even with `--validate=false`. Where a binary is absent, its check has nothing to run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry
from pydantic import AliasChoices
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from metaverse import cli
from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.clock import FakeClock
from metaverse.consumer.health import create_health_app
from metaverse.roles import build_gateway
from metaverse.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
NGINX_CONF = DEPLOY / "compose" / "nginx.conf"
K8S = DEPLOY / "k8s"

# Variables of the images the platform runs beside, by compose service: (image, names).
THIRD_PARTY = {
    "postgres": ("postgres", {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}),
    "redis": ("redis", set()),
    "kafka": (
        "apache/kafka",
        {
            "CLUSTER_ID",
            "KAFKA_NODE_ID",
            "KAFKA_PROCESS_ROLES",
            "KAFKA_LISTENERS",
            "KAFKA_ADVERTISED_LISTENERS",
            "KAFKA_CONTROLLER_LISTENER_NAMES",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "KAFKA_CONTROLLER_QUORUM_VOTERS",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS",
            "KAFKA_NUM_PARTITIONS",
            "KAFKA_LOG_RETENTION_HOURS",
            "KAFKA_LOG_DIRS",
        },
    ),
    "coturn": ("coturn/coturn", set()),
    "nginx": ("nginx", set()),
}
# What the Dockerfile sets for pip and the interpreter.
IMAGE_TOOL_VARIABLES = {
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "PIP_NO_CACHE_DIR",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
}
PROBE_PATHS = {"readiness": "/readyz", "liveness": "/healthz"}


def setting_names() -> frozenset[str]:
    """Every environment variable `Settings` reads, upper-cased (it ignores case)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(prefix + name)
    return frozenset(name.upper() for name in names)


SETTINGS = setting_names()


def unknown(names: Iterable[str], allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The names among `names` that are neither settings nor in `allowed`."""
    return sorted(name for name in names if name.upper() not in SETTINGS | allowed)


def check_command(argv: list[str], where: str) -> str:
    """`metaverse ARGV` parses with the CLI's parser; its subcommand (the role)."""
    try:
        args = cli._parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `metaverse {shlex.join(argv)}` is not a command of the CLI")
    command: str = args.command
    return command


def settings_from(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process given exactly `env` runs with."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.upper() in SETTINGS:
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings(_env_file=None)


def role_port(role: str, settings: Settings) -> int:
    return {"api": settings.port, "gateway": settings.ws_port, "consumer": settings.health_port}[
        role
    ]


# The Dockerfile.


@dataclass
class Instruction:
    keyword: str
    value: str


def dockerfile() -> list[Instruction]:
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, value = line.strip().partition(" ")
            instructions.append(Instruction(keyword.upper(), value.strip()))
    return instructions


def final_stage() -> list[Instruction]:
    instructions = dockerfile()
    last_from = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    return instructions[last_from:]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in final_stage():
        if ins.keyword == "ENV":
            for pair in shlex.split(ins.value):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def image_command() -> list[str]:
    (command,) = [exec_form(ins.value) for ins in final_stage() if ins.keyword == "CMD"]
    return command


def exec_form(value: str) -> list[str]:
    parsed = yaml.safe_load(value)
    assert isinstance(parsed, list), f"{value!r} is not in exec form"
    return [str(item) for item in parsed]


def test_dockerfile_builds_in_stages_and_runs_the_package_alone() -> None:
    instructions = dockerfile()
    assert sum(ins.keyword == "FROM" for ins in instructions) >= 2
    stage = final_stage()
    for ins in stage:
        # The runtime stage takes only the wheels (mounted from the build stage).
        assert ins.keyword not in ("COPY", "ADD"), f"the runtime stage copies: {ins.value}"
        assert "tests" not in ins.value.split("/"), ins.value
    users = [ins.value for ins in stage if ins.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "runs as root"
    (entrypoint,) = [exec_form(ins.value) for ins in stage if ins.keyword == "ENTRYPOINT"]
    assert entrypoint == ["metaverse"]
    check_command(image_command(), "Dockerfile CMD")
    exposed = {int(port) for ins in stage if ins.keyword == "EXPOSE" for port in ins.value.split()}
    defaults = Settings.model_fields
    for name in ("port", "ws_port", "health_port"):
        assert defaults[name].default in exposed, f"{name}'s default port is not exposed"


def test_dockerfile_sets_only_settings() -> None:
    assert unknown(image_env(), IMAGE_TOOL_VARIABLES) == []


def test_dockerignore_keeps_tests_out_of_the_build_context() -> None:
    lines = (DEPLOY.parent / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "everything is left out unless named"
    assert not [p for p in patterns if p.startswith("!") and "tests" in p]


# compose.yaml and .env.example.


def env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: {line!r} is not NAME=value"
            env[name.strip()] = value
    return env


INTERPOLATION = re.compile(r"\$(?:(\$)|\{(\w+)(?::?[-?][^}]*)?\}|(\w+))")


def interpolate(value: object, env: Mapping[str, str], used: set[str]) -> str:
    """Compose's `${NAME}` (and `${NAME:?error}`, `${NAME:-default}`, `$$`) from `env`."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        name = match.group(2) or match.group(3)
        used.add(name)
        assert name in env, f"compose.yaml uses ${{{name}}}, which .env.example doesn't set"
        return env[name]

    return INTERPOLATION.sub(substitute, str(value))


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def is_metaverse(service: Mapping[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("metaverse:")


def compose_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's own `environment`, interpolated from .env.example."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    example = env_file(ENV_EXAMPLE)
    return {name: interpolate(value, example, set()) for name, value in environment.items()}


def compose_env(service: Mapping[str, Any]) -> dict[str, str]:
    """Everything a metaverse container's process sees: image, env_file, environment."""
    env = image_env()
    files = service.get("env_file", [])
    for name in [files] if isinstance(files, str) else files:
        assert name == ".env", f"env_file {name}: only .env (from .env.example) is known"
        env.update(env_file(ENV_EXAMPLE))
    env.update(compose_environment(service))
    return env


def compose_role(name: str, service: Mapping[str, Any]) -> str:
    command = service.get("command", image_command())
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    return check_command(argv, f"compose service {name}")


def test_env_example_sets_settings_and_image_variables_only() -> None:
    example = env_file(ENV_EXAMPLE)
    images = set().union(*(names for _, names in THIRD_PARTY.values()))
    assert unknown(example, images) == []
    assert [name for name, value in example.items() if not value] == []
    assert "JWT_SECRET" in example


def test_every_interpolated_variable_is_in_env_example() -> None:
    used: set[str] = set()
    interpolate(COMPOSE.read_text(), env_file(ENV_EXAMPLE), used)
    assert used, "compose.yaml takes its secrets from .env"


def test_compose_services_set_settings_or_their_image_variables() -> None:
    for name, service in services().items():
        environment = compose_environment(service)
        if is_metaverse(service):
            assert unknown(environment) == [], name
            continue
        assert name in THIRD_PARTY, f"{name}: an image the test doesn't know"
        image, allowed = THIRD_PARTY[name]
        assert str(service["image"]).split(":")[0] == image, name
        assert unknown(environment, allowed) == [], name


def test_compose_runs_cli_commands_with_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    roles: dict[str, list[str]] = {}
    for name, service in services().items():
        if not is_metaverse(service):
            continue
        roles.setdefault(compose_role(name, service), []).append(name)
        settings = settings_from(compose_env(service), monkeypatch)
        # The processes share one JWT secret, from .env; none sets its own.
        assert "JWT_SECRET" not in compose_environment(service), name
        assert service.get("env_file") == [".env"], name
        assert settings.database_url and settings.database_url.startswith("postgresql://")
        assert settings.redis_url and settings.kafka_broker, name
        # The browser goes through nginx: pages over https, the gateway over wss.
        assert settings.public_url and settings.public_url.startswith("https://"), name
        assert settings.gateway_url and settings.gateway_url.startswith("wss://"), name
        assert settings.gateway_url.endswith("/ws"), name
    assert len(roles.get("api", [])) >= 2 and len(roles.get("gateway", [])) >= 3, roles
    assert set(roles) == {"migrate", "api", "gateway", "consumer"}, roles
    for role in ("api", "gateway", "consumer"):
        for name in roles[role]:
            depends = services()[name]["depends_on"]
            assert depends["migrate"] == {"condition": "service_completed_successfully"}, name


def healthcheck_url(name: str, service: Mapping[str, Any]) -> tuple[int, str]:
    test = " ".join(str(part) for part in service["healthcheck"]["test"])
    match = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\w+)", test)
    assert match, f"{name}: no health URL in {test!r}"
    return int(match.group(1)), match.group(2)


def compose_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """(where, role, path) of every compose health check, checking its port."""
    for name, service in services().items():
        if not is_metaverse(service) or compose_role(name, service) == "migrate":
            continue
        role = compose_role(name, service)
        port, path = healthcheck_url(name, service)
        settings = settings_from(compose_env(service), monkeypatch)
        assert port == role_port(role, settings), f"{name} checks port {port}"
        yield f"compose {name}", role, path


def test_gateways_have_time_to_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in services().items():
        if is_metaverse(service) and compose_role(name, service) == "gateway":
            settings = settings_from(compose_env(service), monkeypatch)
            grace = re.fullmatch(r"(\d+)s", str(service.get("stop_grace_period", "")))
            assert grace, f"{name}: no stop_grace_period in seconds"
            assert int(grace.group(1)) > settings.drain_timeout_s, name


def nginx_upstreams(conf: str) -> dict[str, tuple[str, set[tuple[str, int]]]]:
    upstreams = {}
    for name, body in re.findall(r"upstream\s+(\w+)\s*\{(.*?)\}", conf, re.S):
        servers = {
            (host, int(port)) for host, port in re.findall(r"server\s+([\w.-]+):(\d+)", body)
        }
        upstreams[name] = (body, servers)
    return upstreams


def nginx_location(conf: str, spec: str) -> str:
    match = re.search(r"location\s+" + re.escape(spec) + r"\s*\{(.*?)\}", conf, re.S)
    assert match, f"nginx.conf has no `location {spec}`"
    return match.group(1)


def test_nginx_sends_ws_to_every_gateway_and_the_rest_to_every_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = NGINX_CONF.read_text()
    upstreams = nginx_upstreams(conf)
    expected: dict[str, set[tuple[str, int]]] = {"api": set(), "gateway": set()}
    for name, service in services().items():
        if is_metaverse(service) and compose_role(name, service) in expected:
            role = compose_role(name, service)
            settings = settings_from(compose_env(service), monkeypatch)
            expected[role].add((name, role_port(role, settings)))
    ws = nginx_location(conf, "= /ws")
    (ws_upstream,) = re.findall(r"proxy_pass\s+http://(\w+);", ws)
    body, servers = upstreams[ws_upstream]
    assert servers == expected["gateway"]
    assert "least_conn;" in body
    for header in ("proxy_http_version 1.1;", "Upgrade $http_upgrade;", "Connection $connection"):
        assert header in ws, f"/ws lacks {header}"
    (api_upstream,) = re.findall(r"proxy_pass\s+http://(\w+);", nginx_location(conf, "/"))
    assert upstreams[api_upstream][1] == expected["api"]
    mounts = services()["nginx"]["volumes"]
    for path in re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", conf):
        assert any(path.startswith(m.split(":")[1] + "/") for m in mounts), path


# Kubernetes.


def k8s_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind", "metadata"} <= document.keys(), path.name
            documents.append(document)
    return documents


def k8s_kind(kind: str) -> list[dict[str, Any]]:
    return [document for document in k8s_documents() if document["kind"] == kind]


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def configmaps_and_secrets() -> dict[tuple[str, str], dict[str, str]]:
    found = {}
    for document in k8s_documents():
        if document["kind"] == "ConfigMap":
            found["configMap", document["metadata"]["name"]] = document.get("data", {})
        elif document["kind"] == "Secret":
            data = {**document.get("data", {}), **document.get("stringData", {})}
            found["secret", document["metadata"]["name"]] = data
    return found


def test_configmap_and_secret_set_settings_only() -> None:
    for (kind, name), data in configmaps_and_secrets().items():
        assert unknown(data) == [], f"{kind} {name}"


@dataclass
class Container:
    where: str
    pod: dict[str, Any]
    spec: dict[str, Any]
    labels: dict[str, str]


def k8s_containers() -> list[Container]:
    containers = []
    for document in k8s_documents():
        if document["kind"] in ("Deployment", "Job"):
            template = document["spec"]["template"]
            for spec in template["spec"]["containers"]:
                where = f"{document['kind']} {document['metadata']['name']}/{spec['name']}"
                containers.append(
                    Container(where, template["spec"], spec, template["metadata"]["labels"])
                )
    return containers


def k8s_env(container: Container) -> dict[str, str]:
    sources = configmaps_and_secrets()
    env = image_env()
    for source in container.spec.get("envFrom", []):
        ((kind, ref),) = ((k.removesuffix("Ref"), v) for k, v in source.items())
        env.update(sources[kind, ref["name"]])
    for variable in container.spec.get("env", []):
        env[variable["name"]] = str(variable.get("value", ""))
    return env


def k8s_role(container: Container) -> str:
    argv = [*container.spec.get("command", []), *container.spec.get("args", [])]
    if container.spec.get("command"):
        assert argv.pop(0) == "metaverse", container.where
    return check_command(argv, container.where)


def test_k8s_workloads_run_cli_commands_with_valid_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roles = set()
    for container in k8s_containers():
        roles.add(k8s_role(container))
        names = [variable["name"] for variable in container.spec.get("env", [])]
        assert unknown(names) == [], container.where
        settings = settings_from(k8s_env(container), monkeypatch)
        assert settings.jwt_secret and settings.database_url, container.where
        assert settings.public_url and settings.public_url.startswith("https://")
        assert settings.gateway_url and settings.gateway_url.startswith("wss://")
        # <SERVICE>_PORT=tcp://... from service links could be read as METAVERSE_* settings.
        assert container.pod.get("enableServiceLinks") is False, container.where
        assert container.pod["securityContext"]["runAsNonRoot"] is True, container.where
    assert roles == {"migrate", "api", "gateway", "consumer"}


def named_port(container: Container, port: int | str) -> int:
    if isinstance(port, int):
        return port
    for declared in container.spec.get("ports", []):
        if declared.get("name") == port:
            number: int = declared["containerPort"]
            return number
    raise AssertionError(f"{container.where}: no port named {port}")


def k8s_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """(where, role, path) of every probe, checking its port; every long-running role
    has a readiness probe on /readyz and a liveness probe on /healthz."""
    for container in k8s_containers():
        role = k8s_role(container)
        if role == "migrate":
            continue
        settings = settings_from(k8s_env(container), monkeypatch)
        for kind, path in PROBE_PATHS.items():
            probe = container.spec.get(f"{kind}Probe")
            assert probe, f"{container.where} has no {kind} probe"
            get = probe["httpGet"]
            assert get["path"] == path, f"{container.where}: {kind} on {get['path']}"
            assert named_port(container, get["port"]) == role_port(role, settings)
            yield f"{container.where} {kind}", role, path


def test_gateway_stops_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    (gateway,) = [c for c in k8s_containers() if k8s_role(c) == "gateway"]
    settings = settings_from(k8s_env(gateway), monkeypatch)
    command = gateway.spec["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", command
    sleep_s = float(command[1])
    assert gateway.pod["terminationGracePeriodSeconds"] > settings.drain_timeout_s + sleep_s
    (budget,) = k8s_kind("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= gateway.labels.items()
    (deployment,) = [
        d
        for d in k8s_kind("Deployment")
        if d["spec"]["template"]["metadata"]["labels"] == gateway.labels
    ]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_services_and_ingress_reach_declared_ports() -> None:
    containers = k8s_containers()
    services = {s["metadata"]["name"]: s for s in k8s_kind("Service")}
    roles = {}
    for name, service in services.items():
        selector = service["spec"]["selector"].items()
        (container,) = [c for c in containers if selector <= c.labels.items()]
        roles[name] = k8s_role(container)
        for port in service["spec"]["ports"]:
            named_port(container, port["targetPort"])
        if roles[name] == "gateway":
            assert service["spec"]["sessionAffinity"] == "None"
    assert set(roles.values()) == {"api", "gateway"}
    for ingress in k8s_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                ports = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in ports
                if path["path"] == "/ws":
                    assert roles[backend["name"]] == "gateway"


# Probes answer.


async def served(role: str, path: str, settings: Settings) -> int:
    """The status the role's own HTTP surface gives `path`, built as the role builds it."""
    context = ApiContext.build(settings, FakeClock())
    try:
        if role == "gateway":
            gateway = build_gateway(context)

            def respond(status: Any, text: str) -> Response:
                return Response(status.value, status.phrase, Headers(), text.encode())

            connection: Any = type("Connection", (), {"respond": staticmethod(respond)})()
            answer = gateway.process_request(connection, Request(path, Headers()))
            if answer is not None and not isinstance(answer, Response):
                answer = await answer
            assert answer is not None, f"the gateway upgrades {path} to a WebSocket"
            return answer.status_code
        app = create_app(context) if role == "api" else create_health_app(CollectorRegistry(), {})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            return (await client.get(path)).status_code
    finally:
        await context.close()


async def test_every_probe_path_is_served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    probes = [*compose_probes(monkeypatch), *k8s_probes(monkeypatch)]
    assert {role for _, role, _ in probes} == {"api", "gateway", "consumer"}
    # On SQLite and in-memory backends alone, whatever this machine's environment says.
    env = {"METAVERSE_DATA_DIR": str(tmp_path), "JWT_SECRET": "x" * 32}
    settings = settings_from(env, monkeypatch)
    for role, path in sorted({(role, path) for _, role, path in probes}):
        assert await served(role, path, settings) == 200, f"{role} does not serve {path}"


# The tools' own validation, where they are installed.


def test_docker_compose_config_accepts_compose_yaml(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        return  # no compose plugin here: nothing to run
    project = tmp_path / "deploy"
    shutil.copytree(DEPLOY, project, ignore=shutil.ignore_patterns(".env", "tls"))
    shutil.copy(ENV_EXAMPLE, project / ".env")
    result = subprocess.run(
        [docker, "compose", "-f", str(project / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_kubectl_kustomize_renders_k8s() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return  # no kubectl here: nothing to run
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rendered = list(yaml.safe_load_all(result.stdout))
    assert len(rendered) == len(k8s_documents())
    for document in rendered:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "metaverse", document["metadata"]
