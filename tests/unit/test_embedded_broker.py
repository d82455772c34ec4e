"""The embedded broker's settings and the one line `crm up` says when Apache Kafka cannot run."""
import base64
from pathlib import Path

from typer.testing import CliRunner

from crm import stack
from crm.cli import app
from crm.stack import ApacheKafka, new_cluster_id


def props(node: ApacheKafka) -> dict[str, str]:
    return dict(line.split("=", 1) for line in node.properties().splitlines())


def test_single_node_is_broker_and_controller_with_replication_one(tmp_path: Path):
    p = props(ApacheKafka(tmp_path, 19092, controller_port=19093))
    assert p["process.roles"] == "broker,controller" and p["node.id"] == "1"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert p["log.dirs"] == str(tmp_path / "data")
    assert p["offsets.topic.replication.factor"] == p["transaction.state.log.replication.factor"] == "1"
    assert p["group.initial.rebalance.delay.ms"] == "0" and p["unclean.leader.election.enable"] == "false"


def test_cluster_node_names_every_voter_and_requires_two_in_sync(tmp_path: Path):
    p = props(ApacheKafka(tmp_path, 19102, node_id=2, controller_port=19103,
                          voters={1: 19101, 2: 19103, 3: 19105}, replication=3, min_insync=2))
    assert p["controller.quorum.voters"] == "1@127.0.0.1:19101,2@127.0.0.1:19103,3@127.0.0.1:19105"
    assert p["default.replication.factor"] == p["offsets.topic.replication.factor"] == "3"
    assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"


def test_the_controller_port_is_kept_for_the_next_start(tmp_path: Path):
    first = ApacheKafka(tmp_path, 19092).controller_port
    assert ApacheKafka(tmp_path, 19092).controller_port == first


def test_cluster_id_is_16_random_bytes_in_url_safe_base64():
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    for cid in ids:
        assert len(cid) == 22 and len(base64.urlsafe_b64decode(cid + "==")) == 16
        assert not cid.startswith("-")  # the storage tool would read it as an option (one id in 64)


def test_crm_up_without_java_says_so_in_one_line(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(stack.shutil, "which", lambda name: None)
    result = CliRunner().invoke(app, ["up", "--root", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Java" in lines[0] and "scripts/bootstrap" in lines[0] and "--broker tansu" in lines[0]
    assert not (tmp_path / "pgdata").exists()  # nothing was started


def test_crm_up_without_the_jars_says_so_in_one_line(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CRM_KAFKA_LIBS", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["up", "--root", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "jars" in lines[0] and "scripts/bootstrap" in lines[0]


def test_crm_up_refuses_an_unknown_broker(tmp_path: Path):
    result = CliRunner().invoke(app, ["up", "--root", str(tmp_path), "--broker", "redpanda"])
    assert result.exit_code == 2 and "--broker" in result.output
