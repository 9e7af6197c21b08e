"""Offline checks of the deployment artefacts: k8s/ manifests and the Dockerfile.

* Every YAML document in k8s/*.yaml (except kustomization.yaml, which is not a
  Kubernetes object) is validated against the Kubernetes OpenAPI-derived JSON
  schemas bundled with the ``kubernetes-validate`` package. Strict mode is on,
  so unknown or misspelled fields fail. No cluster and no network are needed.
* kustomization.yaml must list every manifest except the ``*.template.yaml``
  files (the Secret template), which must NOT be listed: see its header.
* The hard deployment requirements are asserted explicitly: memory limit,
  non-root and read-only root filesystem, probe paths, env from ConfigMap and
  Secret, no secret in the ConfigMap, weighted ALB actions summing to 100, and
  every public path routed.
* The Dockerfile text is parsed and checked: multi-stage, python:3.11-slim,
  non-root USER, HEALTHCHECK, gunicorn CMD, no test/dev extras.

Environment overrides (used to prove that the checks can fail, against a
broken copy outside the tree):
  K8S_MANIFEST_DIR   directory to check instead of <repo>/k8s
  DOCKERFILE_PATH    Dockerfile to check instead of <repo>/Dockerfile
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml  # PyYAML: a dependency of kubernetes-validate

REPO = Path(__file__).resolve().parents[1]
K8S_DIR = Path(os.environ.get("K8S_MANIFEST_DIR", REPO / "k8s")).resolve()
DOCKERFILE = Path(os.environ.get("DOCKERFILE_PATH", REPO / "Dockerfile")).resolve()
DOCKERIGNORE = REPO / ".dockerignore"
GUNICORN_CONF = REPO / "gunicorn.conf.py"

# Oldest Kubernetes minor the manifests must be valid for (the native preStop
# `sleep` action is on by default from 1.30, GA in 1.34), plus the newest
# schema set bundled with kubernetes-validate.
MIN_K8S_VERSION = "1.31"
K8S_VERSIONS = sorted(
    {MIN_K8S_VERSION, kubernetes_validate.latest_version().rsplit(".", 1)[0]},
    key=lambda v: tuple(int(p) for p in v.split(".")),
)

NAMESPACE = "passport-scorer"
APP_UID = 10001
GUNICORN_CMD = ["python", "-m", "web.serve"]  # gunicorn -c gunicorn.conf.py web.wsgi:application, validated first
DEFAULT_GRACEFUL_TIMEOUT = 25  # stack.md section 2.5; used when gunicorn.conf.py is absent
ALB_IDLE_TIMEOUT = 60
MEMORY_LIMIT = "256Mi"
REQUIRED_SECRET_KEYS = {"DATABASE_URL", "JWT_SECRET", "INTERNAL_API_KEY"}
OPTIONAL_SECRET_KEYS = {"SIWE_JWT_PUBLIC_KEY"}

# The method + path pairs each Ingress must route here are derived from the app's own routes
# (served_routes), so a route added to the app without a rule, or a rule without a route, fails.
INGRESS_PREFIXES = {"passport-scorer-public": ("/v2/", "/ceramic-cache/"),
                    "passport-scorer-internal": ("/internal/",)}


def _alb_pattern(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "*", template)


def _normalized(pattern: str) -> str:
    """An ALB path pattern as its route's template would read: an address segment may be narrowed
    to ``0x*``, as the legacy rule for /ceramic-cache/score/0x* is."""
    return pattern.replace("/0x*", "/*")


def _served(name: str) -> dict[str, set[str]]:
    """{ALB pattern: methods} of the app's routes behind this Ingress."""
    from app.config import load_config
    from tests.conftest import BASE_ENV
    from web.factory import create_app, served_routes

    app = create_app(load_config({**BASE_ENV, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}))
    routes: dict[str, set[str]] = {}
    for method, template in served_routes(app):
        if template.startswith(INGRESS_PREFIXES[name]):
            routes.setdefault(_alb_pattern(template), set()).add(method)
    return routes


TG_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
)
ALB_ANNOTATION = "alb.ingress.kubernetes.io/"
CONDITION_CONFIG_KEYS = {
    "http-header": "httpHeaderConfig",
    "http-request-method": "httpRequestMethodConfig",
    "host-header": "hostHeaderConfig",
    "path-pattern": "pathPatternConfig",
    "query-string": "queryStringConfig",
    "source-ip": "sourceIpConfig",
}
NAMESPACED_KINDS = {
    "ConfigMap", "Secret", "Service", "Deployment", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "Ingress", "ServiceAccount", "NetworkPolicy",
}


# --------------------------------------------------------------------------
# loading helpers
# --------------------------------------------------------------------------

def _manifest_files() -> list[Path]:
    files = sorted(
        p for p in K8S_DIR.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml") and p.name not in ("kustomization.yaml", "kustomization.yml")
    )
    return files


def _rel(p: Path) -> str:
    return p.relative_to(K8S_DIR).as_posix()


def _is_template(p: Path) -> bool:
    return p.name.endswith((".template.yaml", ".template.yml"))


def _load_docs(p: Path) -> list[dict]:
    with p.open() as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def _all_docs() -> list[tuple[str, dict]]:
    return [(_rel(p), d) for p in _manifest_files() for d in _load_docs(p)]


def _only(kind: str, name: str | None = None) -> dict:
    found = [d for _, d in _all_docs() if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected exactly one {kind}{' ' + name if name else ''}, found {len(found)}"
    return found[0]


def _of_kind(kind: str) -> list[dict]:
    return [d for _, d in _all_docs() if d.get("kind") == kind]


def _kustomization() -> dict:
    p = K8S_DIR / "kustomization.yaml"
    assert p.is_file(), "k8s/kustomization.yaml is missing"
    return yaml.safe_load(p.read_text())


def _deployment() -> dict:
    return _only("Deployment", "passport-scorer")


def _container() -> dict:
    containers = _deployment()["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "expected a single app container"
    return containers[0]


def _configmap() -> dict:
    return _only("ConfigMap")


def _secret_template() -> dict:
    return _only("Secret")


def _service() -> dict:
    return _only("Service", "passport-scorer")


def _ingress(name: str) -> dict:
    return _only("Ingress", name)


def _cpu_cores(q: str | int | float) -> float:
    s = str(q)
    return float(s[:-1]) / 1000 if s.endswith("m") else float(s)


def _gunicorn_setting(name: str) -> int | None:
    """Int value (or env default) of a gunicorn.conf.py setting, if statically visible."""
    if not GUNICORN_CONF.is_file():
        return None
    text = GUNICORN_CONF.read_text()
    m = re.search(rf"^{name}\s*=\s*(\d+)\b", text, re.M)
    if m:
        return int(m.group(1))
    m = re.search(
        rf"^{name}\s*=\s*int\(\s*os\.(?:getenv|environ\.get)\(\s*['\"][A-Z0-9_]+['\"]\s*,\s*['\"]?(\d+)['\"]?\s*\)\s*\)",
        text, re.M,
    )
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------
# schema validation
# --------------------------------------------------------------------------

def test_manifest_directory_has_the_expected_objects():
    kinds = {d["kind"] for _, d in _all_docs()}
    for kind in ("Namespace", "ConfigMap", "Secret", "Service", "Deployment",
                 "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"):
        assert kind in kinds, f"no {kind} manifest in {K8S_DIR}"


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
@pytest.mark.parametrize("path", [_rel(p) for p in _manifest_files()])
def test_manifest_validates_against_kubernetes_schema(path, k8s_version):
    docs = _load_docs(K8S_DIR / path)
    assert docs, f"{path} contains no YAML document"
    errors = []
    for i, doc in enumerate(docs):
        assert isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc, f"{path}[{i}] is not a k8s object"
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            loc = ".".join(str(x) for x in e.path) or "<root>"
            errors.append(f"{path}[{i}] {doc['kind']}/{doc.get('metadata', {}).get('name')}: {loc}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{path}[{i}]: {e.message}")
    assert not errors, "schema validation failed (k8s " + k8s_version + "):\n" + "\n".join(errors)


def test_strict_schema_validation_rejects_typos():
    """Negative control: the validator must reject what a typo would produce."""
    deployment = _deployment()
    kubernetes_validate.validate(deployment, MIN_K8S_VERSION, strict=True)  # baseline OK

    bad = copy.deepcopy(deployment)
    probe = bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    probe["pathh"] = probe.pop("path")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, MIN_K8S_VERSION, strict=True)

    bad = copy.deepcopy(deployment)
    bad["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, MIN_K8S_VERSION, strict=True)

    bad = copy.deepcopy(deployment)
    bad["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = [0]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, MIN_K8S_VERSION, strict=True)

    bad = copy.deepcopy(_ingress("passport-scorer-public"))
    bad["kind"] = "Ingres"
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(bad, MIN_K8S_VERSION, strict=True)


def test_every_object_is_named_and_namespaced():
    for path, doc in _all_docs():
        meta = doc.get("metadata") or {}
        assert meta.get("name"), f"{path}: {doc.get('kind')} without metadata.name"
        if doc["kind"] in NAMESPACED_KINDS:
            assert meta.get("namespace") == NAMESPACE, f"{path}: {doc['kind']}/{meta['name']} not in {NAMESPACE}"
        if doc["kind"] == "Namespace":
            assert meta["name"] == NAMESPACE


# --------------------------------------------------------------------------
# kustomization
# --------------------------------------------------------------------------

def test_kustomization_lists_every_manifest_except_templates():
    kust = _kustomization()
    assert kust.get("apiVersion", "").startswith("kustomize.config.k8s.io/")
    assert kust.get("kind") == "Kustomization"
    assert kust.get("namespace") == NAMESPACE
    listed = kust.get("resources") or []
    assert len(listed) == len(set(listed)), "duplicate entries in kustomization resources"
    for entry in listed:
        assert (K8S_DIR / entry).is_file(), f"kustomization lists missing file {entry}"
    files = {_rel(p) for p in _manifest_files()}
    templates = {f for f in files if _is_template(K8S_DIR / f)}
    assert set(listed) == files - templates, (
        f"kustomization.yaml must list every manifest: missing {sorted(files - templates - set(listed))}"
    )
    assert not templates & set(listed), (
        "templates must not be applied by `kubectl apply -k` (they would overwrite real secrets): "
        f"{sorted(templates & set(listed))}"
    )


def test_kustomize_build_renders_valid_objects():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl not on PATH (kustomize rendering check)")
    out = subprocess.run([kubectl, "kustomize", str(K8S_DIR)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress", "ConfigMap"}
    assert not [d for d in docs if d["kind"] == "Secret"], "kustomize output must not contain the Secret template"
    for d in docs:
        kubernetes_validate.validate(d, MIN_K8S_VERSION, strict=True)
        if d["kind"] in NAMESPACED_KINDS:
            assert d["metadata"]["namespace"] == NAMESPACE
    dep = next(d for d in docs if d["kind"] == "Deployment")
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    assert "/" in image and (":" in image or "@sha256:" in image), f"image not rewritten by kustomize: {image}"


# --------------------------------------------------------------------------
# Deployment: hard requirements
# --------------------------------------------------------------------------

def test_deployment_replicas_and_rollout():
    spec = _deployment()["spec"]
    # replicas is owned by the HPA; if set, it must still be >= 2.
    assert spec.get("replicas", 2) >= 2
    hpa = _only("HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 2
    ru = spec["strategy"]["rollingUpdate"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert ru["maxUnavailable"] in (0, "0", "0%")
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()


def test_deployment_resources():
    res = _container()["resources"]
    assert res["limits"]["memory"] == MEMORY_LIMIT
    assert res["requests"]["memory"] == "192Mi"
    assert _cpu_cores(res["requests"]["cpu"]) == 0.5
    # Documented rule: never throttle gevent workers below one core each.
    if "cpu" in res.get("limits", {}):
        workers = int(_configmap()["data"]["WEB_CONCURRENCY"])
        assert _cpu_cores(res["limits"]["cpu"]) >= workers, \
            "CPU limit below WEB_CONCURRENCY cores throttles the gevent hubs"


def test_deployment_runs_non_root_with_read_only_root_fs():
    pod = _deployment()["spec"]["template"]["spec"]
    c = _container()
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    assert csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True
    assert csc.get("runAsUser", psc.get("runAsUser")) == APP_UID
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc.get("privileged", False) is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    assert not csc["capabilities"].get("add")
    seccomp = csc.get("seccompProfile", psc.get("seccompProfile"))
    assert seccomp == {"type": "RuntimeDefault"}
    assert pod.get("automountServiceAccountToken") is False


def test_deployment_writable_paths_are_emptydirs():
    pod = _deployment()["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container()["volumeMounts"]}
    assert "/dev/shm" in mounts and "/tmp" in mounts
    assert vols[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
    assert "emptyDir" in vols[mounts["/tmp"]]


def test_deployment_probes():
    c = _container()
    port_names = {p["name"]: p["containerPort"] for p in c["ports"]}

    def http_path(probe_name):
        probe = c.get(probe_name)
        assert probe and "httpGet" in probe, f"{probe_name} must be an httpGet probe"
        port = probe["httpGet"]["port"]
        assert port in port_names or port in port_names.values(), f"{probe_name} port {port} is not a container port"
        return probe["httpGet"]["path"]

    assert http_path("livenessProbe") == "/health"
    assert http_path("readinessProbe") == "/ready"
    assert http_path("startupProbe") in ("/health", "/ready")


def test_deployment_shutdown_timing():
    pod = _deployment()["spec"]["template"]["spec"]
    pre_stop = _container()["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        delay = int(pre_stop["sleep"]["seconds"])
    else:
        cmd = pre_stop["exec"]["command"]
        m = re.search(r"sleep\s+(\d+)", " ".join(cmd))
        assert m, f"preStop must sleep so the load balancer drains first: {cmd}"
        delay = int(m.group(1))
    assert delay >= 5
    graceful = _gunicorn_setting("graceful_timeout") or DEFAULT_GRACEFUL_TIMEOUT
    assert pod["terminationGracePeriodSeconds"] > delay + graceful, (
        f"terminationGracePeriodSeconds must exceed preStop ({delay}) + graceful_timeout ({graceful})"
    )


def test_gunicorn_keepalive_outlives_alb_idle_timeout():
    keepalive = _gunicorn_setting("keepalive")
    if keepalive is None:
        pytest.skip("gunicorn.conf.py absent or keepalive not a static value")
    assert keepalive > ALB_IDLE_TIMEOUT


def test_deployment_env_from_configmap_and_secret():
    c = _container()
    cm_name = _configmap()["metadata"]["name"]
    secret = _secret_template()
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    assert {"configMapRef": {"name": cm_name}} in c["envFrom"]

    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert set(refs) >= REQUIRED_SECRET_KEYS
    for name, ref in refs.items():
        assert ref["name"] == secret["metadata"]["name"], f"{name} refers to an unknown Secret"
        if name in REQUIRED_SECRET_KEYS:
            assert ref["key"] in secret_keys, f"{name}: key {ref['key']} missing from the Secret template"
            assert not ref.get("optional", False), f"{name} must be required"
        elif name in OPTIONAL_SECRET_KEYS:
            assert ref.get("optional") is True, f"{name} must be optional"
    # a secret may never come in as a literal value
    for e in c.get("env", []):
        assert e["name"] not in REQUIRED_SECRET_KEYS | OPTIONAL_SECRET_KEYS or "valueFrom" in e


def test_configmap_holds_no_secrets():
    data = _configmap().get("data", {})
    forbidden = REQUIRED_SECRET_KEYS | OPTIONAL_SECRET_KEYS | {"SECRET_KEY"}
    assert not forbidden & set(data), f"secret keys in ConfigMap: {sorted(forbidden & set(data))}"
    for key, value in data.items():
        assert not re.search(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|API_KEY|DATABASE_URL|DSN", key), key
        assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", str(value)), f"{key} looks like a URL with credentials"
        assert "BEGIN" not in str(value), f"{key} looks like a PEM key"


def test_configmap_matches_container_port():
    data = _configmap()["data"]
    c = _container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert int(data["PORT"]) == ports["http"] == 8000
    assert int(data["WEB_CONCURRENCY"]) == 2
    svc = _service()
    port = next(p for p in svc["spec"]["ports"] if p["name"] == "http")
    assert port["port"] == 80 and port["targetPort"] in ("http", 8000)
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
    labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()


def test_metrics_are_scraped_from_their_own_port_which_nothing_routes():
    data = _configmap()["data"]
    ports = {p["name"]: p["containerPort"] for p in _container()["ports"]}
    annotations = _deployment()["spec"]["template"]["metadata"]["annotations"]
    assert int(data["METRICS_PORT"]) == ports["metrics"] == int(annotations["prometheus.io/port"]) == 9100
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    service_targets = {p["targetPort"] for p in _service()["spec"]["ports"]}
    assert not service_targets & {"metrics", 9100}, "the Service (and so the load balancers) must not reach metrics"


def _exposed_metric_names() -> set[str]:
    """Every sample name the service's metrics can have (labelled ones included before first use)."""
    from prometheus_client import REGISTRY

    import app.metrics  # noqa: F401
    import db.metrics  # noqa: F401
    import web.metrics  # noqa: F401

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {family.name + suffix for family in REGISTRY.collect() if family.name.startswith("scorer_")
            for suffix in suffixes[family.type]}


def test_the_grafana_dashboard_charts_the_services_metrics():
    generated = {g["name"]: g for g in _kustomization()["configMapGenerator"]}
    dashboard_map = generated["passport-scorer-grafana-dashboard"]
    assert dashboard_map["options"]["labels"]["grafana_dashboard"] == "1"
    [path] = dashboard_map["files"]
    dashboard = json.loads((K8S_DIR / path).read_text())
    panels = {p["title"]: p for p in dashboard["panels"] if p["type"] != "row"}
    exprs = {title: " ".join(t["expr"] for t in p["targets"]) for title, p in panels.items()}
    exposed = _exposed_metric_names()
    for title, expr in exprs.items():
        used = set(re.findall(r"\bscorer_\w+", expr))
        assert used and used <= exposed, f"{title}: unknown metrics {sorted(used - exposed)}"
        assert expr.count("(") == expr.count(")"), title
    charted = " ".join(exprs.values())
    assert not {name for name in exposed if not name.endswith(("_sum", "_count", "_bucket"))} - set(
        re.findall(r"\bscorer_\w+", charted)), "a metric missing from the dashboard"
    assert 'histogram_quantile(0.5, sum by (le, route)' in exprs["p50 latency by route"]
    assert 'histogram_quantile(0.99, sum by (le, route)' in exprs["p99 latency by route"]
    assert 'status=~"5.."' in exprs["Error ratio"] and "by (route" in exprs["Request rate by route"]
    assert "scorer_db_pool_connections_in_use) / sum(scorer_db_pool_size)" in exprs["Pool saturation"]
    assert 'result="hit"' in exprs["Verdict cache hit ratio"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_configmap_and_secret_template_pass_the_app_config_loader():
    """The example settings are accepted by the service's start-up validation once the Secret's
    placeholders are replaced, and refused while they are still placeholders."""
    app_config = pytest.importorskip("app.config")
    env = dict(_configmap()["data"])
    env.update(_secret_template()["stringData"])
    with pytest.raises(app_config.ConfigError, match="template placeholder"):
        app_config.load_config(env)
    env.update({k: f"real-{k.lower()}" for k, v in _secret_template()["stringData"].items()
                if str(v).startswith("change-me") and k != "DATABASE_URL"})
    env["DATABASE_URL"] = "postgresql://scorer@db.internal:5432/scorer"
    env.pop("SIWE_JWT_PUBLIC_KEY", None)
    cfg = app_config.load_config(env)
    assert cfg.port == int(env["PORT"])
    probe_timeout = _container()["readinessProbe"]["timeoutSeconds"]
    assert cfg.db_pool_timeout < probe_timeout
    assert getattr(cfg, "db_connect_timeout", 0) < probe_timeout


def test_secret_template_has_only_placeholders():
    secret = _secret_template()
    assert set(secret.get("stringData", {})) >= REQUIRED_SECRET_KEYS
    assert not secret.get("data"), "use stringData with placeholders, not base64 data"
    for key, value in secret["stringData"].items():
        assert "change-me" in str(value), f"{key} in the Secret template is not a placeholder"


def test_hpa_and_pdb():
    hpa = _only("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "passport-scorer"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > 0

    pdb = _only("PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"].get("minAvailable") == 1 or pdb["spec"].get("maxUnavailable") == 1
    labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


# --------------------------------------------------------------------------
# Ingress / ALB
# --------------------------------------------------------------------------

def _annotations(ing: dict) -> dict:
    return ing["metadata"].get("annotations", {})


def _json_annotations(ing: dict, prefix: str) -> dict:
    out = {}
    for k, v in _annotations(ing).items():
        if k.startswith(ALB_ANNOTATION + prefix):
            name = k[len(ALB_ANNOTATION + prefix):]
            try:
                out[name] = json.loads(v)
            except json.JSONDecodeError as e:  # pragma: no cover - message only
                pytest.fail(f"{k} is not valid JSON: {e}")
    return out


def _actions(ing):
    return _json_annotations(ing, "actions.")


def _conditions(ing):
    return _json_annotations(ing, "conditions.")


def _paths(ing):
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            yield rule, p


def _is_weighted(action: dict) -> bool:
    return action.get("type") == "forward" and len(action.get("forwardConfig", {}).get("targetGroups", [])) >= 2


def _methods(conds: list) -> set | None:
    for c in conds:
        if c["field"] == "http-request-method":
            return {m.upper() for m in c["httpRequestMethodConfig"]["values"]}
    return None  # no method condition: every method


def _has_header_condition(conds: list) -> bool:
    return any(c["field"] == "http-header" for c in conds)


INGRESSES = ["passport-scorer-public", "passport-scorer-internal"]


@pytest.mark.parametrize("name", INGRESSES)
def test_ingress_alb_settings(name):
    ing = _ingress(name)
    ann = _annotations(ing)
    assert ing["spec"]["ingressClassName"] == "alb"
    assert ann[ALB_ANNOTATION + "target-type"] == "ip"
    assert ann[ALB_ANNOTATION + "scheme"] == ("internet-facing" if name.endswith("public") else "internal")
    assert ann.get(ALB_ANNOTATION + "group.name")
    assert ann[ALB_ANNOTATION + "healthcheck-path"] in ("/health", "/ready")
    assert f"idle_timeout.timeout_seconds={ALB_IDLE_TIMEOUT}" in ann[ALB_ANNOTATION + "load-balancer-attributes"]
    listen = json.loads(ann[ALB_ANNOTATION + "listen-ports"])
    assert isinstance(listen, list) and listen


@pytest.mark.parametrize("name", INGRESSES)
def test_ingress_actions_and_conditions_are_consistent(name):
    ing = _ingress(name)
    actions, conditions = _actions(ing), _conditions(ing)
    svc = _service()
    svc_ports = {p["name"] for p in svc["spec"]["ports"]} | {p["port"] for p in svc["spec"]["ports"]}
    backends = {p["backend"]["service"]["name"] for _, p in _paths(ing)}

    for _, p in _paths(ing):
        be = p["backend"]["service"]
        if be["port"].get("name") == "use-annotation":
            assert be["name"] in actions, f"backend {be['name']} uses use-annotation but has no actions.{be['name']}"
        # wildcard paths need ImplementationSpecific; it also keeps rule order
        assert p["pathType"] == "ImplementationSpecific", p
    assert not set(actions) - backends, f"unused actions: {sorted(set(actions) - backends)}"
    assert not set(conditions) - backends, f"unused conditions: {sorted(set(conditions) - backends)}"

    for aname, action in actions.items():
        assert action["type"] == "forward", aname
        for tg in action["forwardConfig"]["targetGroups"]:
            if "serviceName" in tg:
                assert tg["serviceName"] == svc["metadata"]["name"], f"{aname}: unknown Service {tg['serviceName']}"
                assert tg["servicePort"] in svc_ports, f"{aname}: Service has no port {tg['servicePort']}"
            else:
                assert TG_ARN_RE.match(tg["targetGroupARN"]), f"{aname}: bad target group ARN {tg['targetGroupARN']}"
            assert 0 <= tg.get("weight", 1) <= 999
    for cname, conds in conditions.items():
        assert isinstance(conds, list) and conds, cname
        for c in conds:
            assert c["field"] in CONDITION_CONFIG_KEYS, f"{cname}: unknown condition field {c['field']}"
            needed = CONDITION_CONFIG_KEYS[c["field"]]
            assert needed in c, f"{cname}: {c['field']} without {needed}"

    # ALB limit: at most 5 condition values per rule (host + path + extras).
    for rule, p in _paths(ing):
        conds = conditions.get(p["backend"]["service"]["name"], [])
        n = (1 if rule.get("host") else 0) + 1
        n += sum(len(next(iter(v for k, v in c.items() if k != "field")).get("values", [1])) for c in conds)
        assert n <= 5, f"{p['path']} -> {p['backend']['service']['name']}: {n} condition values (ALB max 5)"

    # Newer controllers merge rules that share a host, without keeping order.
    hosts = [r.get("host", "") for r in ing["spec"]["rules"]]
    assert len(hosts) == len(set(hosts)), "each host may appear in only one rule"


@pytest.mark.parametrize("name", INGRESSES)
def test_ingress_weighted_actions_sum_to_100(name):
    ing = _ingress(name)
    svc_name = _service()["metadata"]["name"]
    weighted = {n: a for n, a in _actions(ing).items() if _is_weighted(a)}
    assert weighted, f"{name}: no weighted forward action"
    splits = set()
    for aname, action in weighted.items():
        tgs = action["forwardConfig"]["targetGroups"]
        assert sum(tg["weight"] for tg in tgs) == 100, f"{aname}: weights must sum to 100"
        ours = [tg for tg in tgs if tg.get("serviceName") == svc_name]
        legacy = [tg for tg in tgs if "targetGroupARN" in tg]
        assert len(ours) == 1 and len(legacy) == 1, f"{aname}: expected this Service vs one legacy target group"
        stick = action["forwardConfig"].get("targetGroupStickinessConfig", {})
        assert stick.get("enabled") is True and 1 <= stick.get("durationSeconds", 0) <= 604800, aname
        splits.add((ours[0]["weight"], legacy[0]["weight"]))
    assert len(splits) == 1, f"{name}: all weighted actions must use the same split, got {sorted(splits)}"


@pytest.mark.parametrize("name", INGRESSES)
def test_ingress_routes_exactly_the_served_method_and_path_pairs(name):
    """Only what the app serves comes here: every other method or path (POST /ceramic-cache/score,
    batch model scoring under /internal/, ...) stays with the legacy service."""
    ing = _ingress(name)
    actions, conditions = _actions(ing), _conditions(ing)
    svc_name = _service()["metadata"]["name"]
    routed: dict[str, set[str]] = {}
    for _, p in _paths(ing):
        backend = p["backend"]["service"]["name"]
        targets = actions[backend]["forwardConfig"]["targetGroups"]
        if not any(tg.get("serviceName") == svc_name for tg in targets):
            continue
        methods = _methods(conditions.get(backend, []))
        assert methods is not None, f"{name}: {p['path']} -> {backend} forwards every method here"
        routed.setdefault(_normalized(p["path"]), set()).update(methods)
    assert routed == _served(name)


@pytest.mark.parametrize("name", INGRESSES)
def test_ingress_routes_every_path_weighted_with_canary_first(name):
    routes = _served(name)
    ing = _ingress(name)
    actions, conditions = _actions(ing), _conditions(ing)
    svc_name = _service()["metadata"]["name"]
    entries = [(rule.get("host", ""), i, _normalized(p["path"]), p["backend"]["service"]["name"])
               for rule in ing["spec"]["rules"] for i, p in enumerate(rule["http"]["paths"])]

    for path, methods in routes.items():
        weighted = [(h, i, b) for h, i, pth, b in entries
                    if pth == path and b in actions and _is_weighted(actions[b])
                    and not _has_header_condition(conditions.get(b, []))]
        covered = set()
        for _, _, b in weighted:
            m = _methods(conditions.get(b, []))
            covered |= methods if m is None else (m & methods)
        assert covered == methods, f"{name}: {path} weighted routing misses {sorted(methods - covered)}"

        canary = [(h, i, b) for h, i, pth, b in entries
                  if pth == path and _has_header_condition(conditions.get(b, []))
                  and [tg.get("serviceName") for tg in actions[b]["forwardConfig"]["targetGroups"]] == [svc_name]]
        canary_methods = set().union(*(_methods(conditions[b]) or methods for _, _, b in canary))
        assert methods <= canary_methods, f"{name}: {path} has no header (canary) rule for {methods}"
        for ch, ci, _ in canary:
            for wh, wi, _ in weighted:
                if ch == wh:
                    assert ci < wi, f"{name}: canary rule for {path} must come before the weighted rule"

    # The history endpoint is not served here: it must be routed away first.
    if name.endswith("public"):
        hist = [(h, i, b) for h, i, pth, b in entries if pth == "/v2/stamps/*/score/*/history"]
        assert hist, "/v2/stamps/*/score/*/history must be routed to legacy ahead of /v2/stamps/*/score/*"
        h, i, b = hist[0]
        assert all(tg.get("serviceName") != svc_name for tg in actions[b]["forwardConfig"]["targetGroups"])
        for eh, ei, pth, _ in entries:
            if pth == "/v2/stamps/*/score/*" and eh == h:
                assert i < ei


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------

def _dockerfile_instructions() -> list[tuple[str, str]]:
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} missing"
    logical, buf = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue  # comments and parser directives
        if buf and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            logical.append(buf.strip())
        buf = ""
    if buf.strip():
        logical.append(buf.strip())
    out = []
    for ln in logical:
        op, _, rest = ln.partition(" ")
        out.append((op.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for op, rest in _dockerfile_instructions():
        if op == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((op, rest))
    return stages


def _env_keys(stage) -> set[str]:
    keys = set()
    for op, rest in stage:
        if op == "ENV":
            for tok in shlex.split(rest):
                keys.add(tok.split("=", 1)[0])
    return keys


def test_dockerfile_multi_stage_on_python_311_slim():
    stages = _stages()
    assert len(stages) >= 2, "Dockerfile must be multi-stage"
    for st in stages:
        image = st[0][1].split()[0]
        if image.startswith("--platform"):
            image = st[0][1].split()[1]
        assert re.match(r"^python:3\.11-slim(@sha256:[0-9a-f]{64})?$", image), f"base image {image}"
    # the final stage copies the built environment from an earlier stage
    assert any(op == "COPY" and "--from=" in rest for op, rest in stages[-1])


def test_dockerfile_final_stage_is_non_root_and_runs_gunicorn():
    final = _stages()[-1]
    users = [rest for op, rest in final if op == "USER"]
    assert users, "final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), "container must not run as root"
    if user.isdigit():
        assert int(user) == APP_UID == _container()["securityContext"]["runAsUser"]

    cmds = [rest for op, rest in final if op == "CMD"]
    assert cmds and json.loads(cmds[-1]) == GUNICORN_CMD
    assert not [rest for op, rest in final if op == "ENTRYPOINT"], "ENTRYPOINT would wrap the gunicorn CMD"

    health = [rest for op, rest in final if op == "HEALTHCHECK"]
    assert health and "/health" in health[-1]
    assert not re.search(r"\b(curl|wget)\b", health[-1]), "slim image has no curl/wget: use Python stdlib"

    assert any(op == "EXPOSE" and {"8000", "9100"} <= set(rest.split()) for op, rest in final)
    workdirs = [rest for op, rest in final if op == "WORKDIR"]
    assert workdirs, "final stage needs a WORKDIR holding gunicorn.conf.py"
    assert any(op == "COPY" and "gunicorn.conf.py" in rest and "--from" not in rest for op, rest in final)

    env = _env_keys(final)
    assert {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"} <= env
    assert "HOME" in env, "HOME must point at a writable path (read-only root fs)"


def test_dockerfile_installs_runtime_dependencies_only():
    stages = _stages()
    runs = [rest for st in stages for op, rest in st if op == "RUN"]
    for r in runs:
        test_or_dev = r"\.\[|\[(test|dev)\]|\b(pytest|webtest|pgserver|locust|ruff)\b"
        assert not re.search(test_or_dev, r), f"test/dev install: {r}"
    assert any(re.search(r"\bpip install\b[^&|;]*\s\.(\s|$)", r) for r in runs), "no `pip install .` in the build"
    # every dependency from the hashed lock, then the project alone
    assert any(re.search(r"\bpip install --require-hashes -r requirements\.lock\b", r) for r in runs), runs
    assert any(re.search(r"\bpip install --no-deps \.(\s|$)", r) for r in runs), runs
    # the final stage neither compiles nor installs anything
    for op, rest in stages[-1]:
        if op == "RUN":
            assert not re.search(r"apt-get install|build-essential|\bgcc\b|pip install", rest), rest


def test_dockerignore_excludes_local_state():
    assert DOCKERIGNORE.is_file(), ".dockerignore missing"
    patterns = {ln.strip() for ln in DOCKERIGNORE.read_text().splitlines() if ln.strip() and not ln.startswith("#")}
    for must in (".venv", ".git", ".dev"):
        assert must in patterns or "*" in patterns, f".dockerignore does not exclude {must}"
    assert ".venv" in patterns and ".git" in patterns
