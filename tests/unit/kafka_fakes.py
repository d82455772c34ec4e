"""Stand-ins for Kafka's command-line tools, for the deploy/kafka/*.sh tests (no broker, no JVM).

Each fake is a small bash wrapper around this file run as a script:
`python kafka_fakes.py <tool> <args...>`. State lives in JSON files in the fake's
directory; every call is appended to `calls` (one line of arguments, as passed).
Output imitates the real tools closely enough for the scripts' parsing
(checked against Apache Kafka 3.9.1's kafka-acls.sh / kafka-configs.sh output).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE_STATE = "FAKE_KAFKA_STATE"


def install(directory: Path) -> Path:
    """Write kafka-acls.sh, kafka-configs.sh, kafka-topics.sh into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in ("kafka-acls.sh", "kafka-configs.sh", "kafka-topics.sh", "kafka-storage.sh", "kafka-server-start.sh"):
        script = directory / tool
        script.write_text(
            f'#!/bin/bash\nexec "{sys.executable}" "{Path(__file__).resolve()}" "{directory}" {tool} "$@"\n',
            encoding="utf-8")
        script.chmod(0o755)
    return directory


def _load(directory: Path, name: str, default):
    path = directory / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def _save(directory: Path, name: str, value) -> None:
    (directory / name).write_text(json.dumps(value, indent=1, sort_keys=True), encoding="utf-8")


def set_acls(directory: Path, acls: list[dict]) -> None:
    _save(directory, "acls.json", acls)


def get_acls(directory: Path) -> list[dict]:
    return _load(directory, "acls.json", [])


def set_users(directory: Path, users: dict[str, list[str]]) -> None:
    _save(directory, "users.json", users)


def get_users(directory: Path) -> dict[str, list[str]]:
    return _load(directory, "users.json", {})


def _options(args: list[str]) -> dict[str, list[str]]:
    flags = {"--list", "--add", "--remove", "--force", "--cluster", "--describe", "--alter", "--create",
             "--if-not-exists", "--ignore-formatted"}
    opts: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        if args[i] in flags:
            opts.setdefault(args[i], []).append("")
            i += 1
        else:
            opts.setdefault(args[i], []).append(args[i + 1])
            i += 2
    return opts


def _acls(directory: Path, args: list[str]) -> int:
    opts = _options(args)
    acls = get_acls(directory)
    if "--list" in opts:
        by_resource: dict[tuple, list[dict]] = {}
        for acl in acls:
            by_resource.setdefault((acl["type"], acl["name"], acl["pattern"]), []).append(acl)
        for (rtype, name, pattern), entries in by_resource.items():
            print(f"Current ACLs for resource `ResourcePattern(resourceType={rtype}, name={name}, "
                  f"patternType={pattern})`: ")
            for e in entries:
                print(f" \t(principal={e['principal']}, host={e['host']}, operation={e['operation']}, "
                      f"permissionType={e['permission']}) ")
            print()
        return 0
    if "--allow-principal" in opts:
        principal, permission, host = opts["--allow-principal"][0], "ALLOW", opts.get("--allow-host", ["*"])[0]
    else:
        principal, permission, host = opts["--deny-principal"][0], "DENY", opts.get("--deny-host", ["*"])[0]
    pattern = opts.get("--resource-pattern-type", ["literal"])[0].upper()
    resources = [("TOPIC", n) for n in opts.get("--topic", [])] + [("GROUP", n) for n in opts.get("--group", [])]
    if "--cluster" in opts:
        resources.append(("CLUSTER", "kafka-cluster"))
    if not resources:
        print("You must specify one of: --topic, --cluster, --group", file=sys.stderr)
        return 1
    operation = opts["--operation"][0].upper()
    entries = [{"principal": principal, "permission": permission, "host": host, "operation": operation,
                "type": rtype, "pattern": pattern, "name": name} for rtype, name in resources]
    if "--add" in opts:
        acls += [e for e in entries if e not in acls]
    elif "--remove" in opts:
        acls = [a for a in acls if a not in entries]
    set_acls(directory, acls)
    return 0


def _configs(directory: Path, args: list[str]) -> int:
    opts = _options(args)
    users = get_users(directory)
    if "--describe" in opts:
        for user, mechanisms in users.items():
            if mechanisms:
                configs = ",".join(f"{m}=iterations=8192" for m in mechanisms)
                print(f"SCRAM credential configs for user-principal '{user}' are {configs}")
        return 0
    user = opts["--entity-name"][0]
    for config in opts.get("--add-config", []):
        mechanism = config.split("=", 1)[0]
        users.setdefault(user, [])
        if mechanism not in users[user]:
            users[user].append(mechanism)
    for mechanism in opts.get("--delete-config", []):
        users[user] = [m for m in users.get(user, []) if m != mechanism]
    set_users(directory, users)
    return 0


def _topics(directory: Path, args: list[str]) -> int:
    opts = _options(args)
    topics = _load(directory, "topics.json", [])
    if "--list" in opts:
        print("\n".join(topics))
        return 0
    for topic in opts.get("--topic", []):
        if topic not in topics:
            topics.append(topic)
    _save(directory, "topics.json", topics)
    return 0


def main(argv: list[str]) -> int:
    directory, tool, args = Path(argv[0]), argv[1], argv[2:]
    with (directory / "calls").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps([tool, *args]) + "\n")
    if tool == "kafka-acls.sh":
        return _acls(directory, args)
    if tool == "kafka-configs.sh":
        return _configs(directory, args)
    if tool == "kafka-topics.sh":
        return _topics(directory, args)
    return 0  # kafka-storage.sh, kafka-server-start.sh: the call is recorded, nothing else


def calls(directory: Path, tool: str | None = None) -> list[list[str]]:
    path = directory / "calls"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r[1:] for r in rows if tool is None or r[0] == tool]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
