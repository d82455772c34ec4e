"""Kafka authentication and authorisation of the production stack, checked against the code.

* deploy/kafka/acls.txt (the one ACL source) covers every topic of
  shared.events.topics.ALL_TOPICS; each event type is writable by exactly the
  service that produces it, derived from the code: the contract module that
  defines it (shared/events/contract/<service>.py), `audit.py` for the services
  that call `audit_full_read`, `runtime.py` (dead letters) for every service
  with a consumer, cross-checked with the payloads each service constructs;
* each service reads exactly what the consumers of its ServiceSpec subscribe to
  (built with `build_app()`, never started) plus what it writes (the relay's
  broker check reads those back), in exactly its consumer groups; the call-center
  principal writes only `callcenter-contacts`;
* docker-compose.yml: SASL on every listener, the StandardAuthorizer with
  allow.everyone.if.no.acl.found=false, `admin` the only superuser; kafka-init
  gets a password for every principal; every service logs in as its own
  principal with settings that exist in shared.settings;
* deploy/kafka/*.sh against fake Kafka tools (tests/unit/kafka_fakes.py);
* shared.runtime.kafka.client_kwargs, and every aiokafka client using it.
"""
from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import json
import re
import shutil
import ssl
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr, ValidationError

from shared.events.contract import ALL_PAYLOADS
from shared.events.topics import ALL_TOPICS, CALLCENTER_CONTACTS, CONTACT_RECEIVED
from shared.runtime import kafka
from shared.settings import Settings

from . import kafka_fakes

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KAFKA_DIR = DEPLOY / "kafka"
ACLS_FILE = KAFKA_DIR / "acls.txt"
TOPICS_FILE = DEPLOY / "topics.txt"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / "env.example"
README = DEPLOY / "README.md"

SERVICES = ("intake", "grading", "followup", "analytics")
SUPERUSER = "admin"
# Principals that are not our services: what each may do, exactly.
INTEGRATORS = {
    "callcenter": {
        ("WRITE", "topic", CALLCENTER_CONTACTS),
        ("READ", "topic", CONTACT_RECEIVED),
        ("READ", "group-prefix", "callcenter-"),
    },
}
REQUIRED_VAR = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*):?\?[^}]*\}$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


# ------------------------------------------------------------------ the ACL file


@dataclass(frozen=True)
class Grant:
    principal: str
    operation: str
    resource: str
    name: str


def read_acls(path: Path = ACLS_FILE) -> list[Grant]:
    grants = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        assert len(fields) == 4, f"{path.name}:{number}: expected 'principal operation resource name': {line!r}"
        grants.append(Grant(*fields))
    return grants


def principal_var(principal: str) -> str:
    return f"KAFKA_{principal.upper().replace('-', '_')}_PASSWORD"


def granted(principal: str, operation: str, resource: str) -> set[str]:
    return {g.name for g in read_acls() if (g.principal, g.operation, g.resource) == (principal, operation, resource)}


def writers(topic: str) -> set[str]:
    return {g.principal for g in read_acls() if (g.operation, g.resource, g.name) == ("WRITE", "topic", topic)}


# ------------------------------------------------------------ what the code says


def source_files(service: str) -> list[Path]:
    return [p for p in sorted((ROOT / "services" / service).rglob("*.py")) if "tests" not in p.parts]


def called_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


@functools.cache
def service_calls(service: str) -> frozenset[str]:
    return frozenset().union(*(called_names(p) for p in source_files(service)))


@functools.cache
def consumer_specs(service: str) -> tuple:
    """The ConsumerSpecs of the service's app, built but not started (no broker, no database)."""
    app = importlib.import_module(f"services.{service}.app").build_app()
    return tuple(app.state.spec.consumers)


def subscribed(service: str) -> set[str]:
    return {topic for spec in consumer_specs(service) for topic in spec.handlers}


def consumer_groups(service: str) -> set[str]:
    return {spec.group for spec in consumer_specs(service)}


@functools.cache
def producers() -> dict[str, frozenset[str]]:
    """Event type -> the services that write it, from where the code defines and writes it."""
    result = {}
    for payload in ALL_PAYLOADS:
        module = payload.__module__.rsplit(".", 1)[-1]
        if module in SERVICES:  # the contract is grouped by the producing service
            writers_ = {module}
        elif module == "audit":  # shared.runtime.audit.audit_full_read, in the service that reads
            writers_ = {s for s in SERVICES if "audit_full_read" in service_calls(s)}
        elif module == "runtime":  # dead letters: every EventConsumer writes them
            writers_ = {s for s in SERVICES if consumer_specs(s)}
        else:
            pytest.fail(f"{payload.__name__}: no rule for contract module {module!r}; teach this test")
        assert writers_, f"nobody writes {payload.EVENT_TYPE}"
        result[payload.EVENT_TYPE] = frozenset(writers_)
    return result


def written_by(service: str) -> set[str]:
    return {topic for topic, services in producers().items() if service in services}


# ------------------------------------------------------------------------ tests


def test_acl_file_grammar():
    grants = read_acls()
    assert grants
    assert len(grants) == len(set(grants)), "no duplicate lines"
    for g in grants:
        assert re.fullmatch(r"[a-z][a-z0-9-]*", g.principal), g
        assert g.principal != SUPERUSER, "the superuser needs no ACL"
        assert g.operation in {"READ", "WRITE"}, g
        assert g.resource in {"topic", "group", "group-prefix"}, g
        assert g.resource == "topic" or g.operation == "READ", g
        assert re.fullmatch(r"[A-Za-z0-9._-]+", g.name), g
    assert {g.principal for g in grants} == set(SERVICES) | set(INTEGRATORS)


def test_every_topic_is_in_the_acl_file_and_in_topics_txt():
    topics = {g.name for g in read_acls() if g.resource == "topic"}
    assert set(ALL_TOPICS) - topics == set(), "topics nobody may use"
    assert topics - set(ALL_TOPICS) == set(), "ACLs on topics the code does not know"
    # The broker does not auto-create topics: kafka-init must create every one.
    assert set(TOPICS_FILE.read_text(encoding="utf-8").split()) == set(ALL_TOPICS)


def test_the_shared_writers_are_where_this_test_assumes():
    """`producers()` attributes audit.py and runtime.py events to the services that call
    shared code; that code must still be what writes them."""
    by_module = {p.__module__.rsplit(".", 1)[-1]: p.__name__ for p in ALL_PAYLOADS}
    assert by_module["audit"] in called_names(ROOT / "shared" / "runtime" / "audit.py")
    assert by_module["runtime"] in called_names(ROOT / "shared" / "runtime" / "consumer.py")


@pytest.mark.parametrize("service", SERVICES)
def test_services_construct_exactly_the_events_their_contract_module_defines(service):
    """Cross-check of `producers()`: the payload classes a service's code constructs."""
    names = {p.__name__: p for p in ALL_PAYLOADS}
    constructed = {names[n].EVENT_TYPE for n in service_calls(service) if n in names}
    owned = {p.EVENT_TYPE for p in ALL_PAYLOADS if p.__module__.rsplit(".", 1)[-1] == service}
    assert constructed - owned == set(), f"{service} constructs events another service owns"
    assert owned - constructed == set(), f"{service}'s contract module defines events it never constructs"


def test_each_event_type_is_writable_by_exactly_its_producers():
    for topic, services in producers().items():
        assert writers(topic) == set(services), topic
    assert writers(CALLCENTER_CONTACTS) == {"callcenter"}
    # The security review's examples: the roster and the owner are followup's alone.
    assert writers("consultant-updated") == {"followup"}
    assert writers("customer-assigned") == {"followup"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_writes_exactly_what_it_produces(service):
    assert granted(service, "WRITE", "topic") == written_by(service)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_exactly_what_it_consumes_and_what_it_writes(service):
    """Subscriptions from the ServiceSpec; plus the topics it writes, which the outbox relay
    reads back to check that the broker still holds what it published
    (shared.runtime.relay._missing_records: without READ it raises and the relay stops)."""
    assert subscribed(service), f"{service} has no consumer"
    assert granted(service, "READ", "topic") == subscribed(service) | written_by(service)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_joins_exactly_its_consumer_groups(service):
    assert granted(service, "READ", "group") == consumer_groups(service)
    assert granted(service, "READ", "group-prefix") == set()


@pytest.mark.parametrize("principal", sorted(INTEGRATORS))
def test_integrators_get_exactly_their_grants(principal):
    grants = {(g.operation, g.resource, g.name) for g in read_acls() if g.principal == principal}
    assert grants == INTEGRATORS[principal]


def test_no_principal_may_join_another_principals_group():
    groups = [(g.principal, g.resource, g.name) for g in read_acls() if g.resource != "topic"]
    for a_principal, a_kind, a_name in groups:
        for b_principal, b_kind, b_name in groups:
            if a_principal == b_principal:
                continue
            if a_kind == "group-prefix":
                assert not b_name.startswith(a_name), (a_principal, a_name, b_principal, b_name)
            if a_kind == b_kind == "group":
                assert a_name != b_name


def test_only_intake_reads_the_raw_call_center_feed():
    readers = {g.principal for g in read_acls() if (g.operation, g.name) == ("READ", CALLCENTER_CONTACTS)}
    assert readers == {"intake"}


# --------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def env_of(service: dict) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (service.get("environment") or {}).items()}


def mounts_of(service: dict) -> dict[str, Path]:
    """Container path -> host path of the bind mounts."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            result[target] = (ROOT / source).resolve()
    return result


def host_path(service: dict, container_path: str) -> Path | None:
    for target, host in mounts_of(service).items():
        if container_path == target:
            return host
        if container_path.startswith(target.rstrip("/") + "/"):
            return host / container_path[len(target.rstrip("/")) + 1:]
    return None


def test_broker_authenticates_every_listener_and_authorises_every_request(services):
    env = env_of(services["kafka"])
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == f"User:{SUPERUSER}"
    protocols = dict(m.split(":") for m in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = {item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")}
    assert listeners == set(protocols)
    assert all(p in {"SASL_PLAINTEXT", "SASL_SSL"} for p in protocols.values()), protocols
    # A separate controller listener (KRaft), not advertised, not the inter-broker one.
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in listeners and controller != env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    assert controller not in {item.split("://")[0] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    assert env[f"KAFKA_LISTENER_NAME_{controller}_SASL_ENABLED_MECHANISMS"] == "PLAIN"
    assert env["KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL"] == "PLAIN"
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] == "SCRAM-SHA-512"
    assert REQUIRED_VAR.match(env["KAFKA_ADMIN_PASSWORD"])
    # The entrypoint that writes the JAAS logins and formats with --add-scram.
    entry = services["kafka"]["entrypoint"]
    assert host_path(services["kafka"], entry[-1]) == KAFKA_DIR / "broker.sh"
    script = (KAFKA_DIR / "broker.sh").read_text(encoding="utf-8")
    assert "--add-scram" in script and "kafka-storage.sh" in script and "format" in script
    # Its healthcheck logs in.
    assert "--command-config" in " ".join(services["kafka"]["healthcheck"]["test"])


def test_kafka_init_applies_the_acl_file_and_has_every_password(services):
    init = services["kafka-init"]
    env = env_of(init)
    assert host_path(init, init["entrypoint"][-1]) == KAFKA_DIR / "init.sh"
    assert host_path(init, env["ACLS_FILE"]) == ACLS_FILE
    script = (KAFKA_DIR / "init.sh").read_text(encoding="utf-8")
    assert "apply-acls.sh" in script and "create-topics.sh" in script
    principals = {g.principal for g in read_acls()}
    passwords = {k for k in env if k.endswith("_PASSWORD")}
    assert passwords == {principal_var(p) for p in principals} | {"KAFKA_ADMIN_PASSWORD"}
    for key in passwords:
        match = REQUIRED_VAR.match(env[key])
        assert match and match.group(1) == key, f"{key}={env[key]}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_logs_in_as_its_own_principal(services, service):
    env = env_of(services[service])
    assert env["CRM_KAFKA_SECURITY_PROTOCOL"] in {"SASL_PLAINTEXT", "SASL_SSL"}
    assert env["CRM_KAFKA_SASL_MECHANISM"] == env_of(services["kafka"])["KAFKA_SASL_ENABLED_MECHANISMS"]
    assert env["CRM_KAFKA_USERNAME"] == service
    # The same variable kafka-init sets the principal's credential from.
    password = REQUIRED_VAR.match(env["CRM_KAFKA_PASSWORD"])
    assert password and password.group(1) == principal_var(service)
    assert env_of(services["kafka-init"])[principal_var(service)].startswith(f"${{{principal_var(service)}:?")
    # Every CRM_* name compose sets is a setting the code reads.
    fields = {f"CRM_{name.upper()}" for name in Settings.model_fields}
    assert {k for k in env if k.startswith("CRM_")} <= fields


def test_env_example_lists_every_required_secret_without_a_value():
    required = {var for var, op, _ in INTERPOLATION.findall(COMPOSE_FILE.read_text(encoding="utf-8"))
                if op in {"?", ":?"}}
    entries = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries[key] = value
    assert set(entries) == required
    assert all(value == "" for value in entries.values()), "placeholders only, never a value"


def test_readme_explains_authentication_acls_and_the_embedded_stack():
    readme = README.read_text(encoding="utf-8")
    for needed in ("deploy/kafka/acls.txt", "one source", "SCRAM-SHA-512", "StandardAuthorizer",
                   "allow.everyone.if.no.acl.found=false", "--add-scram", "Rotating a password",
                   "Adding a service", "Adding an integrator", "crm up", "without SASL"):
        assert needed in readme, needed
    for var in {principal_var(g.principal) for g in read_acls()}:
        assert var in readme


# ------------------------------------------------------- scripts, with fake tools


def run_script(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    return subprocess.run(["bash", str(KAFKA_DIR / script)], env={**base, **env}, capture_output=True,
                          text=True, timeout=120)


def acl_key(acl: dict) -> tuple:
    return acl["principal"], acl["permission"], acl["host"], acl["operation"], acl["type"], acl["pattern"], acl["name"]


def desired_acls() -> set[tuple]:
    kinds = {"topic": ("TOPIC", "LITERAL"), "group": ("GROUP", "LITERAL"), "group-prefix": ("GROUP", "PREFIXED")}
    return {(f"User:{g.principal}", "ALLOW", "*", g.operation, *kinds[g.resource], g.name) for g in read_acls()}


@needs_bash
def test_apply_acls_makes_the_broker_hold_exactly_the_file(tmp_path):
    fake = kafka_fakes.install(tmp_path / "bin")
    stray = [  # by hand, or left over: all removed
        {"principal": "User:mallory", "permission": "ALLOW", "host": "*", "operation": "ALL",
         "type": "TOPIC", "pattern": "LITERAL", "name": "*"},
        {"principal": "User:intake", "permission": "ALLOW", "host": "*", "operation": "WRITE",
         "type": "TOPIC", "pattern": "LITERAL", "name": "customer-assigned"},
        {"principal": "User:grading", "permission": "DENY", "host": "10.0.0.1", "operation": "READ",
         "type": "GROUP", "pattern": "PREFIXED", "name": "x"},
        {"principal": "User:mallory", "permission": "ALLOW", "host": "*", "operation": "ALTER",
         "type": "CLUSTER", "pattern": "LITERAL", "name": "kafka-cluster"},
    ]
    kept = {"principal": "User:followup", "permission": "ALLOW", "host": "*", "operation": "WRITE",
            "type": "TOPIC", "pattern": "LITERAL", "name": "customer-assigned"}
    kafka_fakes.set_acls(fake, [*stray, kept])
    env = {"KAFKA_BIN": str(fake), "KAFKA_BOOTSTRAP": "kafka:9092", "ACLS_FILE": str(ACLS_FILE),
           "KAFKA_COMMAND_CONFIG": "/tmp/admin.properties"}

    dry = run_script("apply-acls.sh", {**env, "ACLS_DRY_RUN": "1"}, tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert len(kafka_fakes.get_acls(fake)) == len(stray) + 1, "a dry run changes nothing"

    first = run_script("apply-acls.sh", env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert {acl_key(a) for a in kafka_fakes.get_acls(fake)} == desired_acls()
    assert f"({len(desired_acls()) - 1} added, {len(stray)} removed)" in first.stdout
    for call in kafka_fakes.calls(fake, "kafka-acls.sh"):
        assert call[:4] == ["--bootstrap-server", "kafka:9092", "--command-config", "/tmp/admin.properties"]

    calls_before = len(kafka_fakes.calls(fake))
    again = run_script("apply-acls.sh", env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(0 added, 0 removed)" in again.stdout
    assert len(kafka_fakes.calls(fake)) - calls_before == 2, "only the list and the check"


@needs_bash
@pytest.mark.parametrize("line", [
    "intake DELETE topic contact-received",     # an operation the file does not allow
    "intake WRITE group intake-staff",          # groups are only read
    "admin READ topic contact-received",        # the superuser has no ACLs
    "intake WRITE topic",                       # a column missing
    "intake WRITE cluster kafka-cluster",       # no cluster grants
])
def test_apply_acls_refuses_a_bad_file_and_changes_nothing(tmp_path, line):
    fake = kafka_fakes.install(tmp_path / "bin")
    acls = tmp_path / "acls.txt"
    acls.write_text(f"intake READ topic contact-received\n{line}\n", encoding="utf-8")
    result = run_script("apply-acls.sh", {"KAFKA_BIN": str(fake), "ACLS_FILE": str(acls)}, tmp_path)
    assert result.returncode == 1
    assert "acls.txt:2" in result.stderr
    assert kafka_fakes.get_acls(fake) == []


@needs_bash
def test_apply_acls_refuses_a_file_that_grants_nothing(tmp_path):
    fake = kafka_fakes.install(tmp_path / "bin")
    existing = [{"principal": "User:intake", "permission": "ALLOW", "host": "*", "operation": "READ",
                 "type": "TOPIC", "pattern": "LITERAL", "name": "contact-received"}]
    kafka_fakes.set_acls(fake, existing)
    acls = tmp_path / "acls.txt"
    acls.write_text("# everything commented out\n", encoding="utf-8")
    result = run_script("apply-acls.sh", {"KAFKA_BIN": str(fake), "ACLS_FILE": str(acls)}, tmp_path)
    assert result.returncode == 1
    assert kafka_fakes.get_acls(fake) == existing


def fake_passwords() -> dict[str, str]:
    principals = {g.principal for g in read_acls()}
    return {principal_var(p): f"test-{p}-0123456789abcdef" for p in principals} | {
        "KAFKA_ADMIN_PASSWORD": "test-admin-0123456789abcdef"}


@needs_bash
def test_kafka_init_sets_every_credential_then_the_acls_and_prints_no_password(tmp_path):
    fake = kafka_fakes.install(tmp_path / "bin")
    kafka_fakes.set_users(fake, {"admin": ["SCRAM-SHA-512"], "mallory": ["SCRAM-SHA-256"], "intake": ["SCRAM-SHA-512"]})
    passwords = fake_passwords()
    env = {"KAFKA_BIN": str(fake), "KAFKA_BOOTSTRAP": "kafka:9092", "ACLS_FILE": str(ACLS_FILE),
           "TOPICS_FILE": str(TOPICS_FILE), "TOPIC_PARTITIONS": "4", "TOPIC_REPLICATION": "1", **passwords}
    result = run_script("init.sh", env, tmp_path)
    assert result.returncode == 0, result.stderr
    for secret in passwords.values():
        assert secret not in result.stdout and secret not in result.stderr
    principals = {g.principal for g in read_acls()}
    # Each principal's credential, from its own variable.
    users = kafka_fakes.get_users(fake)
    assert {u for u, mechanisms in users.items() if "SCRAM-SHA-512" in mechanisms} == principals | {"admin"}
    assert users["mallory"] == [], "a user the file no longer names loses its credentials"
    alters = [c for c in kafka_fakes.calls(fake, "kafka-configs.sh") if "--add-config" in c]
    for call in alters:
        user = call[call.index("--entity-name") + 1]
        assert call[call.index("--add-config") + 1] == \
            f"SCRAM-SHA-512=[iterations=8192,password={passwords[principal_var(user)]}]"
    assert {c[c.index("--entity-name") + 1] for c in alters} == principals
    # Every tool logged in as the superuser, from a client config that is gone afterwards.
    configs = {c[c.index("--command-config") + 1] for c in kafka_fakes.calls(fake)}
    assert len(configs) == 1 and not Path(configs.pop()).exists()
    # Topics and then the ACLs.
    assert {acl_key(a) for a in kafka_fakes.get_acls(fake)} == desired_acls()
    assert set(json.loads((fake / "topics.json").read_text())) == set(ALL_TOPICS)


@needs_bash
def test_kafka_init_needs_every_password_before_it_sets_any(tmp_path):
    fake = kafka_fakes.install(tmp_path / "bin")
    passwords = fake_passwords()
    del passwords["KAFKA_GRADING_PASSWORD"]
    env = {"KAFKA_BIN": str(fake), "ACLS_FILE": str(ACLS_FILE), "TOPICS_FILE": str(TOPICS_FILE), **passwords}
    result = run_script("init.sh", env, tmp_path)
    assert result.returncode == 1
    assert "KAFKA_GRADING_PASSWORD" in result.stderr
    assert not [c for c in kafka_fakes.calls(fake, "kafka-configs.sh") if "--add-config" in c]
    assert kafka_fakes.get_acls(fake) == []
    # A password that would break the SCRAM/JAAS syntax is refused too.
    passwords = fake_passwords() | {"KAFKA_INTAKE_PASSWORD": "has,comma]and-brackets-0123"}
    result = run_script("init.sh", {**env, **passwords}, tmp_path)
    assert result.returncode == 1 and "KAFKA_INTAKE_PASSWORD" in result.stderr
    assert "has,comma" not in result.stderr


def broker_env(services: dict, tmp_path: Path) -> dict[str, str]:
    """The kafka service's environment as compose would pass it (test values for the secrets)."""
    values = {"KAFKA_ADMIN_PASSWORD": "test-admin-0123456789abcdef"}

    def interpolate(value: str) -> str:
        def one(m: re.Match) -> str:
            var, op, default = m.groups()
            if var in values:
                return values[var]
            assert op in {"-", ":-"}, f"{var} has no value in this test"
            return default

        return INTERPOLATION.sub(one, value)

    env = {k: interpolate(v) for k, v in env_of(services["kafka"]).items()}
    return env | {"CRM_KAFKA_CONF_DIR": str(tmp_path / "conf")}


def read_properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if line)


@needs_bash
def test_broker_entrypoint_writes_the_config_formats_with_scram_and_starts(services, tmp_path):
    fake = kafka_fakes.install(tmp_path / "bin")
    env = broker_env(services, tmp_path) | {"KAFKA_BIN": str(fake)}
    password = env["KAFKA_ADMIN_PASSWORD"]
    result = run_script("broker.sh", env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    conf = tmp_path / "conf" / "server.properties"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    props = read_properties(conf)
    # The compose variables, renamed by the image's rule.
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["listeners"] == env["KAFKA_LISTENERS"] and props["node.id"] == "1"
    assert not any("password" in key for key in props), "the secret is not a property of its own"
    # A JAAS login per listener: PLAIN for the controller, SCRAM for the others.
    for mapping in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","):
        listener = mapping.split(":")[0].lower()
        if listener == env["KAFKA_CONTROLLER_LISTENER_NAMES"].lower():
            jaas = props[f"listener.name.{listener}.plain.sasl.jaas.config"]
            assert f'user_admin="{password}"' in jaas and "PlainLoginModule" in jaas
        else:
            jaas = props[f"listener.name.{listener}.scram-sha-512.sasl.jaas.config"]
            assert f'username="admin" password="{password}"' in jaas and "ScramLoginModule" in jaas
    # Formatted once with the superuser's SCRAM credential, then started on that config.
    (storage,) = kafka_fakes.calls(fake, "kafka-storage.sh")
    assert storage[0] == "format" and "--ignore-formatted" in storage
    assert storage[storage.index("--cluster-id") + 1] == env["CLUSTER_ID"]
    assert storage[storage.index("--add-scram") + 1] == \
        f"SCRAM-SHA-512=[name=admin,iterations=8192,password={password}]"
    assert kafka_fakes.calls(fake, "kafka-server-start.sh") == [[str(conf)]]
    admin = read_properties(tmp_path / "conf" / "admin.properties")
    assert admin["security.protocol"] == "SASL_PLAINTEXT" and admin["sasl.mechanism"] == "SCRAM-SHA-512"


@needs_bash
@pytest.mark.parametrize("change", [
    {"KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND": "true"},
    {"KAFKA_AUTHORIZER_CLASS_NAME": ""},
    {"KAFKA_SUPER_USERS": "User:admin;User:ANONYMOUS"},
    {"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,HOST:SASL_PLAINTEXT"},
    {"KAFKA_ADMIN_PASSWORD": ""},
    {"KAFKA_ADMIN_PASSWORD": 'short"quote'},
])
def test_broker_entrypoint_refuses_to_start_open(services, tmp_path, change):
    fake = kafka_fakes.install(tmp_path / "bin")
    env = broker_env(services, tmp_path) | {"KAFKA_BIN": str(fake)} | change
    result = run_script("broker.sh", env, tmp_path)
    assert result.returncode == 1, result.stdout
    assert kafka_fakes.calls(fake) == [], "neither formatted nor started"


# ------------------------------------------------------------ the client helper


KAFKA_ENV = ("CRM_KAFKA_SECURITY_PROTOCOL", "CRM_KAFKA_SASL_MECHANISM", "CRM_KAFKA_USERNAME", "CRM_KAFKA_PASSWORD",
             "CRM_KAFKA_SSL_CAFILE")


@pytest.fixture
def clean_env(monkeypatch):
    for name in KAFKA_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_client_kwargs_default_to_plaintext(clean_env):
    """The embedded stack and the tests: unchanged (aiokafka's own default)."""
    assert kafka.client_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert kafka.client_kwargs(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_client_kwargs_log_in_with_scram_from_the_environment(clean_env):
    clean_env.setenv("CRM_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    clean_env.setenv("CRM_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    clean_env.setenv("CRM_KAFKA_USERNAME", "grading")
    clean_env.setenv("CRM_KAFKA_PASSWORD", "test-password-not-real")
    assert kafka.client_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "grading", "sasl_plain_password": "test-password-not-real",
    }
    settings = Settings()
    assert "test-password-not-real" not in repr(settings) and "test-password-not-real" not in str(settings)


def test_client_kwargs_over_tls(clean_env):
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_username="intake",
                        kafka_password=SecretStr("test-password-not-real"))
    kwargs = kafka.client_kwargs(settings)
    assert isinstance(kwargs.pop("ssl_context"), ssl.SSLContext)
    assert kwargs == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "sasl_plain_username": "intake", "sasl_plain_password": "test-password-not-real"}


@pytest.mark.parametrize("missing", ["CRM_KAFKA_USERNAME", "CRM_KAFKA_PASSWORD"])
def test_sasl_without_a_complete_login_is_refused_at_start(clean_env, missing):
    clean_env.setenv("CRM_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    clean_env.setenv("CRM_KAFKA_USERNAME", "intake")
    clean_env.setenv("CRM_KAFKA_PASSWORD", "test-password-not-real")
    clean_env.delenv(missing)
    with pytest.raises(ValidationError, match="CRM_KAFKA_USERNAME and CRM_KAFKA_PASSWORD"):
        Settings()
    clean_env.setenv("CRM_KAFKA_SECURITY_PROTOCOL", "SSL")  # TLS without a login: no principal, refused
    clean_env.setenv(missing, "x")
    with pytest.raises(ValidationError):
        Settings()


SASL = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="followup",
                kafka_password=SecretStr("test-password-not-real"))


def test_every_client_factory_passes_the_kwargs(clean_env, monkeypatch):
    seen: list[tuple[str, dict]] = []

    def recorder(kind):
        class Recorder:
            def __init__(self, *args, **kwargs):
                seen.append((kind, kwargs))
                raise RuntimeError("recorded")
        return Recorder

    monkeypatch.setattr(kafka, "AIOKafkaProducer", recorder("producer"))
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", recorder("consumer"))
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", recorder("admin"))
    from shared.runtime import relay
    monkeypatch.setattr(relay, "AIOKafkaConsumer", recorder("relay probe"))
    with pytest.raises(RuntimeError):
        kafka.producer("kafka:9092", SASL)
    with pytest.raises(RuntimeError):
        kafka.consumer("kafka:9092", "followup", "contact-received", settings=SASL)
    with pytest.raises(RuntimeError):
        asyncio.run(kafka.ensure_topics("kafka:9092", ["contact-received"], 4, settings=SASL))
    # The relay's probe reads the process's settings (the environment).
    for key, value in (("CRM_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"), ("CRM_KAFKA_USERNAME", "followup"),
                       ("CRM_KAFKA_PASSWORD", "test-password-not-real")):
        monkeypatch.setenv(key, value)
    with pytest.raises(RuntimeError):
        asyncio.run(relay._missing_records("kafka:9092", []))
    assert [kind for kind, _ in seen] == ["producer", "consumer", "admin", "relay probe"]
    for kind, kwargs in seen:
        for key, value in kafka.client_kwargs(SASL).items():
            assert kwargs[key] == value, (kind, key)
    # Without an explicit Settings, the factories read the environment too.
    seen.clear()
    with pytest.raises(RuntimeError):
        kafka.producer("kafka:9092")
    assert seen[0][1]["sasl_plain_username"] == "followup"


def test_aiokafka_accepts_the_kwargs(clean_env):
    """Real clients, built (not started) with SCRAM: aiokafka validates the combination."""
    async def build():
        producer = kafka.producer("127.0.0.1:9", SASL)
        consumer = kafka.consumer("127.0.0.1:9", "followup", "contact-received", settings=SASL)
        await consumer.stop()
        await producer.stop()
    asyncio.run(build())


def test_every_aiokafka_client_in_the_code_uses_the_helper():
    """AIOKafkaProducer/Consumer/AdminClient are built only with `**client_kwargs(...)`
    (the embedded stack's test suites under tests/ and services/*/tests are left out)."""
    clients = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}
    files = [p for top in ("shared", "services", "crm", "bench") for p in sorted((ROOT / top).rglob("*.py"))
             if "tests" not in p.relative_to(ROOT).parts]
    found, missing = 0, []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name not in clients:
                continue
            found += 1
            spread = [k.value for k in node.keywords if k.arg is None]
            if not any(isinstance(v, ast.Call) and getattr(v.func, "attr", getattr(v.func, "id", None))
                       == "client_kwargs" for v in spread):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found >= 4
    assert missing == []


def test_the_kafka_settings_exist():
    names = {f"CRM_{n.upper()}" for n in Settings.model_fields}
    assert set(KAFKA_ENV) <= names
