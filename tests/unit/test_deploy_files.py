"""Static checks of the deployment files (no Docker engine needed).

* docker-compose.yml (and deploy/compose.scale.yml) validate against the
  official Compose Specification JSON Schema, as vendored by the
  `check-jsonschema` PyPI package
  (check_jsonschema/builtin_schemas/vendor/compose-spec.json, copied from
  compose-spec/compose-spec schema/compose-spec.json), with `jsonschema`;
* the stack's invariants: Kafka in KRaft mode without ZooKeeper, exactly the
  CRM_* settings for every service, no secret written literally, healthchecks,
  topic creation from deploy/topics.txt, a non-root Dockerfile, Prometheus
  scraping the four services.

Kafka authentication and ACLs (deploy/kafka/acls.txt) are checked in
tests/unit/test_kafka_acls.py.
"""
from __future__ import annotations

import http.server
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import validators

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCALE_FILE = DEPLOY / "compose.scale.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
TOPICS_FILE = DEPLOY / "topics.txt"
PROMETHEUS_FILE = DEPLOY / "prometheus" / "prometheus.yml"
HEALTHCHECK_SCRIPT = DEPLOY / "healthcheck.py"
README = DEPLOY / "README.md"

CRM_SERVICES = {"intake": 8001, "grading": 8002, "followup": 8003, "analytics": 8004}
# The service contract: configuration is exactly these environment variables.
CRM_SETTINGS = {
    "CRM_SERVICE",
    "CRM_DATABASE_URL",
    "CRM_VAULT_URL",
    "CRM_KAFKA_BOOTSTRAP",
    "CRM_KAFKA_SECURITY_PROTOCOL",
    "CRM_KAFKA_SASL_MECHANISM",
    "CRM_KAFKA_USERNAME",
    "CRM_KAFKA_PASSWORD",
    "CRM_AUTH_SECRET",
    "CRM_HTTP_HOST",
    "CRM_HTTP_PORT",
    "CRM_LOG_LEVEL",
    "CRM_BUSINESS_ZONE",
    "CRM_TOPIC_PARTITIONS",
    "CRM_TOPIC_REPLICATION",
}
REQUIRED_TOPICS = {
    "contact-received", "prospect-graded", "deal-closed", "complaint-filed",
    "task-scheduled", "followup-logged", "task-closed", "prospect-lost",
    "consent-changed", "customer-merged", "dead-letters", "callcenter-contacts",
    "customer-valued", "complaint-updated",
}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|(^|_)API_?KEY$|PRIVATE_KEY", re.I)
# ${VAR:?message} or ${VAR?message}: a value that must come from the environment.
REQUIRED_VAR = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


# ------------------------------------------------------------------ helpers


class _ComposeLoader(yaml.SafeLoader):
    """SafeLoader that also reads Compose's merge-control tags (!reset, !override)."""


def _tagged(loader: yaml.SafeLoader, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(_tag, _tagged)


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_ComposeLoader)  # noqa: S506 - SafeLoader subclass


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def command_list(value) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else str(value).split()


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def host_path(volume: str | dict) -> tuple[str, str]:
    if isinstance(volume, dict):
        return str(volume.get("source", "")), str(volume.get("target", ""))
    parts = volume.split(":")
    return parts[0], parts[1] if len(parts) > 1 else ""


def bind_mounts(service: dict) -> dict[Path, str]:
    """Host path (resolved against the repo root) -> container path, for bind mounts."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = host_path(volume)
        if source.startswith((".", "/")):
            mounts[(ROOT / source).resolve()] = target
    return mounts


def host_file(service: dict, container_path: str) -> Path | None:
    """The host file behind `container_path`, through a file or a directory bind mount."""
    for host, target in bind_mounts(service).items():
        target = target.rstrip("/")
        if container_path == target:
            return host
        if container_path.startswith(target + "/"):
            return host / container_path[len(target) + 1:]
    return None


def entry_script(service: dict) -> Path:
    """The mounted script a service runs (entrypoint + command)."""
    entry = command_list(service.get("entrypoint")) + command_list(service.get("command"))
    scripts = [p for p in (host_file(service, arg) for arg in entry) if p is not None]
    assert len(scripts) == 1, entry
    assert scripts[0].is_file(), scripts[0]
    return scripts[0]


def compose_schema() -> dict:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(schema_file.read_text(encoding="utf-8"))


def schema_errors(document) -> list[str]:
    schema = compose_schema()
    validator_cls = validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    return [
        f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    ]


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        logical.append(current)
        current = ""
    if current:
        logical.append(current)
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def topic_init(services) -> tuple[str, dict]:
    matches = [
        (name, svc) for name, svc in services.items()
        if TOPICS_FILE.resolve() in bind_mounts(svc)
    ]
    assert len(matches) == 1, "exactly one service must mount deploy/topics.txt (the topic init)"
    return matches[0]


# ------------------------------------------------------------ schema checks


def test_schema_comes_from_check_jsonschema_and_is_the_compose_spec():
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    assert "services" in schema["properties"]


def test_compose_file_validates_against_compose_spec(compose):
    assert schema_errors(compose) == []


def test_schema_validation_rejects_an_invalid_compose_file(compose):
    broken = json.loads(json.dumps(compose))
    broken["services"]["intake"]["restart"] = ["always"]  # must be a string
    broken["services"]["intake"]["healthcheck"]["intervall"] = "5s"  # unknown key
    errors = schema_errors(broken)
    assert any("restart" in e for e in errors), errors
    assert any("intervall" in e for e in errors), errors


def test_scale_override_validates_and_only_touches_crm_services(services):
    override = load_yaml(SCALE_FILE)
    assert schema_errors(override) == []
    assert set(override["services"]) <= set(CRM_SERVICES)
    for name, svc in override["services"].items():
        assert name in services
        # container port only: an ephemeral host port per replica
        assert [str(p) for p in svc["ports"]] == [str(CRM_SERVICES[name])]
    assert "!override" in SCALE_FILE.read_text(encoding="utf-8")


# --------------------------------------------------------------- Kafka


def test_kafka_runs_kraft_without_zookeeper(compose, services, topic_init):
    assert "zookeeper" not in yaml.safe_dump(compose).lower()  # comments aside
    assert not any("zookeeper" in name.lower() for name in services)
    init_name = topic_init[0]
    brokers = {
        name: svc for name, svc in services.items()
        if str(svc.get("image", "")).startswith("apache/kafka:") and name != init_name
    }
    assert list(brokers) == ["kafka"]
    kafka = brokers["kafka"]
    env = env_of(kafka)
    roles = {r.strip() for r in env["KAFKA_PROCESS_ROLES"].split(",")}
    assert roles == {"broker", "controller"}  # combined mode
    # The single voter is this node, at its controller listener's address.
    voter_id, _, voter_address = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == env["KAFKA_NODE_ID"]
    assert f"{env['KAFKA_CONTROLLER_LISTENER_NAMES']}://{voter_address}" in env["KAFKA_LISTENERS"].split(",")
    assert env["CLUSTER_ID"], "KRaft storage needs a cluster id"
    assert not any("ZOOKEEPER" in key for svc in services.values() for key in env_of(svc))
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    # Single broker: every internal topic replication factor is 1.
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[key] == "1"
    assert any("/var/lib/kafka/data" in host_path(v)[1] for v in kafka["volumes"])
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    # Kafka's own internal listener is what the services use, and it authenticates.
    assert "INTERNAL://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "INTERNAL:SASL_PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")


def test_topic_init_reads_topics_txt_and_is_idempotent(services, topic_init):
    name, init = topic_init
    assert init["image"] == services["kafka"]["image"], "same Kafka image as the broker"
    assert depends_on(init) == {"kafka": "service_healthy"}
    assert init.get("restart", "no") == "no"
    mounts = bind_mounts(init)
    topics_target = mounts[TOPICS_FILE.resolve()]
    env = env_of(init)
    # The script it runs is a mounted file from deploy/ (deploy/kafka/init.sh), which
    # runs the topic creator beside it, pointed at the mounted list.
    entry = entry_script(init)
    assert entry.parent == DEPLOY / "kafka"
    assert "create-topics.sh" in entry.read_text(encoding="utf-8")
    script = (DEPLOY / "kafka" / "create-topics.sh").read_text(encoding="utf-8")
    assert env.get("TOPICS_FILE") == topics_target or topics_target in script
    assert "TOPICS_FILE" in script and "kafka-topics.sh" in script
    assert "--create" in script and "--if-not-exists" in script
    assert env["TOPIC_PARTITIONS"] == "4" and env["TOPIC_REPLICATION"] == "1"
    # The topic list is written once: not in the compose file, not in the script.
    compose_text = COMPOSE_FILE.read_text(encoding="utf-8")
    scripts = script + "\n".join(p.read_text(encoding="utf-8") for p in (DEPLOY / "kafka").glob("*.sh"))
    for topic in REQUIRED_TOPICS:
        assert topic not in compose_text, f"{topic} duplicated in docker-compose.yml"
        assert topic not in scripts, f"{topic} duplicated in an init script"
    # Every CRM service waits for it to finish successfully.
    for svc_name in CRM_SERVICES:
        assert depends_on(services[svc_name]).get(name) == "service_completed_successfully"


def test_topics_file_is_one_name_per_line():
    text = TOPICS_FILE.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines == [line.strip() for line in lines], "no surrounding whitespace"
    assert all(lines), "no blank lines"
    assert not any(line.startswith("#") for line in lines), "no comments"
    assert len(lines) == len(set(lines)), "no duplicates"
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,248}", line) for line in lines), lines
    assert REQUIRED_TOPICS <= set(lines)


# ------------------------------------------------------------ CRM services


def test_the_four_services_are_built_from_one_dockerfile(services):
    assert CRM_SERVICES.keys() <= services.keys()
    images = set()
    for name in CRM_SERVICES:
        svc = services[name]
        build = svc["build"]
        assert (ROOT / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
        images.add(svc["image"])
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert "container_name" not in svc, "container_name prevents --scale"
        assert svc.get("restart") in {"always", "unless-stopped", "on-failure"}
    assert len(images) == 1


@pytest.mark.parametrize("name", sorted(CRM_SERVICES))
def test_service_environment_is_exactly_the_crm_settings(services, name):
    svc = services[name]
    assert "env_file" not in svc, "every setting is listed in the compose file"
    env = env_of(svc)
    assert set(env) == CRM_SETTINGS
    port = CRM_SERVICES[name]
    assert env["CRM_SERVICE"] == name
    assert env["CRM_HTTP_HOST"] == "0.0.0.0"
    assert env["CRM_HTTP_PORT"] == str(port)
    assert env["CRM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    # Its own Kafka principal (deploy/kafka/acls.txt), logged in with SCRAM.
    assert env["CRM_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["CRM_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["CRM_KAFKA_USERNAME"] == name
    assert env["CRM_KAFKA_PASSWORD"].startswith(f"${{KAFKA_{name.upper()}_PASSWORD:?")
    assert REQUIRED_VAR.match(env["CRM_KAFKA_PASSWORD"])
    assert env["CRM_TOPIC_PARTITIONS"] == "4"
    assert env["CRM_TOPIC_REPLICATION"] == "1"
    assert re.fullmatch(r"\$\{CRM_LOG_LEVEL:-(DEBUG|INFO|WARNING|ERROR)\}|INFO", env["CRM_LOG_LEVEL"])
    assert REQUIRED_VAR.match(env["CRM_AUTH_SECRET"])
    assert env["CRM_AUTH_SECRET"].startswith("${CRM_AUTH_SECRET:?")
    url = re.fullmatch(
        r"postgresql://(?P<user>[a-z_]+):(?P<pw>\$\{[^}]+\})@postgres:5432/(?P<db>[a-z_]+)",
        env["CRM_DATABASE_URL"],
    )
    assert url, env["CRM_DATABASE_URL"]
    assert url["db"] == f"crm_{name}" and url["user"] == f"crm_{name}"
    assert REQUIRED_VAR.match(url["pw"])
    # One key vault for all four (shared.runtime.vault), its own database and role.
    vault = re.fullmatch(r"postgresql://crm_vault:(?P<pw>\$\{[^}]+\})@postgres:5432/crm_vault", env["CRM_VAULT_URL"])
    assert vault and REQUIRED_VAR.match(vault["pw"]), env["CRM_VAULT_URL"]
    # Published on its default port (the scale override replaces this).
    assert [str(p) for p in svc["ports"]] == [f"{port}:{port}"]
    assert depends_on(svc)["postgres"] == "service_healthy"
    assert depends_on(svc)["kafka"] == "service_healthy"


def test_no_secret_is_written_literally(services):
    problems = []
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_KEY.search(key) and not REQUIRED_VAR.match(value):
                problems.append(f"{name}.{key}={value!r}")
            for userinfo in re.findall(r"://[^/@\s]*:([^@\s]*)@", value):
                if not REQUIRED_VAR.match(userinfo):
                    problems.append(f"{name}.{key}: password in URL {userinfo!r}")
    # Nor as a default anywhere in the file: ${SOME_SECRET:-literal}.
    for var, op, default in INTERPOLATION.findall(COMPOSE_FILE.read_text(encoding="utf-8")):
        if SECRET_KEY.search(var) and op in {"-", ":-"}:
            problems.append(f"${{{var}{op}{default}}} has a default")
    assert problems == []


def test_required_secrets_are_documented_and_not_in_profiles(compose, services):
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    required = {var for var, op, _ in INTERPOLATION.findall(text) if op in {"?", ":?"}}
    assert {"CRM_AUTH_SECRET", "CRM_DB_PASSWORD", "POSTGRES_PASSWORD"} <= required
    readme = README.read_text(encoding="utf-8")
    assert all(var in readme for var in required)
    assert "CRM_AUTH_SECRET=" in readme and "docker compose up" in readme
    assert "--scale grading=2" in readme and "/metrics" in readme
    # Compose interpolates every service before applying profiles, so a
    # required variable in an optional service would block the default `up`.
    for name, svc in services.items():
        if svc.get("profiles"):
            dumped = yaml.safe_dump(svc)
            assert not re.search(r"\$\{[A-Za-z0-9_]+:?\?", dumped), name


def test_every_long_running_service_has_a_healthcheck(services, topic_init):
    one_shot = topic_init[0]
    for name, svc in services.items():
        if name == one_shot:
            continue
        check = svc.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}
        assert check.get("interval") and check.get("retries")


def test_compose_sets_only_settings_the_code_reads():
    """Every CRM_* name compose sets is a field of shared.settings.Settings (env prefix CRM_)."""
    from shared.settings import Settings

    assert Settings.model_config["env_prefix"] == "CRM_"
    fields = {f"CRM_{name.upper()}" for name in Settings.model_fields}
    assert fields >= CRM_SETTINGS, CRM_SETTINGS - fields


def test_service_healthcheck_uses_the_script_in_the_image(services):
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    copied = re.search(r"COPY\s+deploy/healthcheck\.py\s+(\S+)", dockerfile)
    assert copied, "Dockerfile copies deploy/healthcheck.py"
    for name in CRM_SERVICES:
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", copied.group(1)]
        assert test[3] in {"/health", "/ready"}


def test_postgres_is_16_and_creates_the_four_databases(services):
    pg = services["postgres"]
    assert re.fullmatch(r"postgres:16(\.\d+)?(-[a-z0-9.]+)?", pg["image"])
    mounts = bind_mounts(pg)
    init_dirs = [host for host, target in mounts.items() if target.startswith("/docker-entrypoint-initdb.d")]
    assert init_dirs == [(DEPLOY / "postgres" / "initdb").resolve()]
    scripts = sorted(init_dirs[0].glob("*.sh")) + sorted(init_dirs[0].glob("*.sql"))
    assert scripts
    text = "\n".join(s.read_text(encoding="utf-8") for s in scripts)
    for name in (*CRM_SERVICES, "crm_vault"):
        assert name in text
    assert "CREATE DATABASE" in text and "CREATE ROLE" in text
    assert "CRM_DB_PASSWORD" in text and "CRM_DB_PASSWORD" in env_of(pg)
    assert REQUIRED_VAR.match(env_of(pg)["POSTGRES_PASSWORD"])
    assert any(target == "/var/lib/postgresql/data" for _, target in map(host_path, pg["volumes"]))


def test_postgres_init_script_names_match_the_service_urls(services):
    script = (DEPLOY / "postgres" / "initdb" / "10-crm-databases.sh").read_text(encoding="utf-8")
    loop = re.search(r"for service in ([a-z ]+); do", script)
    assert loop and set(loop.group(1).split()) == set(CRM_SERVICES)
    assert 'role="crm_${service}"' in script and 'db="crm_${service}"' in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
@pytest.mark.parametrize(
    "script", ["kafka/create-topics.sh", "kafka/init.sh", "kafka/apply-acls.sh", "kafka/broker.sh",
               "postgres/initdb/10-crm-databases.sh"]
)
def test_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(DEPLOY / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


FAKE_KAFKA_TOPICS = """#!/bin/bash
# Stand-in for kafka-topics.sh: records calls, "creates" topics in a file.
state="$(dirname "$0")/created"
echo "$*" >> "$(dirname "$0")/calls"
touch "$state"
if [[ " $* " == *" --list "* ]]; then cat "$state"; exit 0; fi
while [[ $# -gt 0 ]]; do
  if [[ "$1" == "--topic" ]]; then grep -qxF "$2" "$state" || echo "$2" >> "$state"; fi
  shift
done
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_create_topics_script_creates_every_listed_topic(tmp_path):
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text(FAKE_KAFKA_TOPICS, encoding="utf-8")
    fake.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "KAFKA_BIN": str(tmp_path),
        "KAFKA_BOOTSTRAP": "kafka:9092",
        "TOPICS_FILE": str(TOPICS_FILE),
        "TOPIC_PARTITIONS": "4",
        "TOPIC_REPLICATION": "1",
    }
    script = DEPLOY / "kafka" / "create-topics.sh"
    for _ in range(2):  # idempotent: a second run succeeds too
        result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    topics = TOPICS_FILE.read_text(encoding="utf-8").split()
    assert (tmp_path / "created").read_text(encoding="utf-8").split() == topics
    creates = [c for c in (tmp_path / "calls").read_text(encoding="utf-8").splitlines() if "--create" in c]
    assert len(creates) == 2 * len(topics)
    for call in creates:
        assert "--if-not-exists" in call and "--partitions 4" in call
        assert "--replication-factor 1" in call and "--bootstrap-server kafka:9092" in call
    # With a client config (kafka-init's superuser login), every call passes it.
    env["KAFKA_COMMAND_CONFIG"] = "/tmp/admin.properties"
    (tmp_path / "calls").unlink()
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text(encoding="utf-8").splitlines()
    assert calls and all("--command-config /tmp/admin.properties" in c for c in calls)
    # A missing list is an error, not an empty success.
    env["TOPICS_FILE"] = str(tmp_path / "missing.txt")
    assert subprocess.run(["bash", str(script)], env=env, capture_output=True, timeout=60).returncode == 1


# -------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multistage_slim_and_non_root():
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    froms = [args for kw, args in instructions if kw == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for kw, a in instructions if kw == "ARG" and "=" in a}
    bases = [f.split()[0] for f in froms]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), b) for b in bases]
    assert all(b.startswith("python:3.11-slim") for b in resolved), resolved
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    final = instructions[last_from:]
    users = [a for kw, a in final if kw == "USER"]
    assert users, "final stage sets USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(kw == "COPY" and "--from=" in a for kw, a in final)
    runs = " ".join(a for kw, a in instructions if kw == "RUN")
    assert "pip install --no-cache-dir" in runs
    assert any(kw == "COPY" and "pyproject.toml" in a for kw, a in instructions)
    healthchecks = [a for kw, a in final if kw == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/health" in healthchecks[0]
    cmd = [a for kw, a in final if kw == "CMD"]
    assert json.loads(cmd[-1])[:2] == ["python", "-m"]
    # Sources it copies exist (the build context is the repo root).
    for kw, a in instructions:
        if kw == "COPY" and "--from=" not in a:
            for src in a.split()[:-1]:
                assert (ROOT / src).exists(), src


def test_dockerignore_keeps_what_the_build_needs():
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in ("pyproject.toml", "shared", "services", "crm"):
        assert needed not in patterns and f"{needed}/" not in patterns
    assert {".git", ".venv", ".env"} <= set(patterns)
    if "deploy/*" in patterns or "deploy" in patterns:
        assert "!deploy/healthcheck.py" in patterns


# --------------------------------------------------------- healthcheck probe


def _load_probe():
    spec = importlib.util.spec_from_file_location("crm_deploy_healthcheck", HEALTHCHECK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_probe_uses_urllib_and_the_service_port(monkeypatch):
    probe = _load_probe()
    assert "urllib.request" in HEALTHCHECK_SCRIPT.read_text(encoding="utf-8")
    monkeypatch.delenv("CRM_HTTP_PORT", raising=False)
    for name, port in CRM_SERVICES.items():
        monkeypatch.setenv("CRM_SERVICE", name)
        assert probe.probe_url("/health") == f"http://127.0.0.1:{port}/health"
    monkeypatch.setenv("CRM_HTTP_PORT", "0")  # 0 means the service default
    assert probe.probe_url("ready") == "http://127.0.0.1:8004/ready"
    monkeypatch.setenv("CRM_HTTP_PORT", "9123")
    assert probe.probe_url("/ready") == "http://127.0.0.1:9123/ready"


def test_healthcheck_probe_against_a_local_server(monkeypatch):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"CRM_SERVICE": "grading", "CRM_HTTP_PORT": str(server.server_port), "PATH": ""}
        run = lambda *args: subprocess.run(  # noqa: E731
            [sys.executable, str(HEALTHCHECK_SCRIPT), *args], env=env, capture_output=True, timeout=20
        ).returncode
        assert run() == 0  # default path /health
        assert run("/ready") == 1  # 503
        server_port = server.server_port
    finally:
        server.shutdown()
        server.server_close()
    env["CRM_HTTP_PORT"] = str(server_port)  # nothing listens any more
    assert subprocess.run(
        [sys.executable, str(HEALTHCHECK_SCRIPT)], env=env, capture_output=True, timeout=20
    ).returncode == 1


# -------------------------------------------------------------- Prometheus


def test_prometheus_scrapes_the_four_services(services):
    config = load_yaml(PROMETHEUS_FILE)
    assert config["global"]["scrape_interval"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in CRM_SERVICES.items():
        job = jobs[name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [
            f"{n}:{sd['port']}" for sd in job.get("dns_sd_configs", []) for n in sd["names"]
        ] + [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        assert targets == [f"{name}:{port}"], targets
    prom = services["prometheus"]
    assert prom["profiles"] == ["monitoring"]
    assert bind_mounts(prom)[PROMETHEUS_FILE.resolve()] == "/etc/prometheus/prometheus.yml"
