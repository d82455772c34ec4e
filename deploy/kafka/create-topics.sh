#!/bin/bash
# One-shot topic creation for the CRM stack (run by deploy/kafka/init.sh in the
# `kafka-init` compose service, in the apache/kafka image). Idempotent:
# --if-not-exists, so it can run on every `docker compose up`.
#
# Reads topic names from TOPICS_FILE (deploy/topics.txt, one name per line),
# the single list of topics that the Python code is also tested against.
# KAFKA_COMMAND_CONFIG (set by deploy/kafka/init.sh): the client config with the
# superuser's SASL login, passed to every kafka-topics.sh call.
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
TOPICS_FILE="${TOPICS_FILE:-/etc/crm/topics.txt}"
PARTITIONS="${TOPIC_PARTITIONS:-4}"
REPLICATION="${TOPIC_REPLICATION:-1}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
auth=()
if [[ -n "${KAFKA_COMMAND_CONFIG:-}" ]]; then
  auth=(--command-config "$KAFKA_COMMAND_CONFIG")
fi

if [[ ! -s "$TOPICS_FILE" ]]; then
  echo "create-topics: $TOPICS_FILE is missing or empty" >&2
  exit 1
fi

# The broker is already healthy (depends_on), but allow for a slow controller.
for attempt in $(seq 1 30); do
  if "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "${auth[@]}" --list >/dev/null 2>&1; then
    break
  fi
  if [[ "$attempt" == 30 ]]; then
    echo "create-topics: broker $BOOTSTRAP not reachable" >&2
    exit 1
  fi
  sleep 2
done

count=0
while IFS= read -r topic || [[ -n "$topic" ]]; do
  topic="${topic//[[:space:]]/}"
  [[ -z "$topic" ]] && continue
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "${auth[@]}" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$REPLICATION"
  count=$((count + 1))
done < "$TOPICS_FILE"

# Verify: every listed topic exists now.
existing="$("$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "${auth[@]}" --list)"
missing=0
while IFS= read -r topic || [[ -n "$topic" ]]; do
  topic="${topic//[[:space:]]/}"
  [[ -z "$topic" ]] && continue
  if ! grep -qxF "$topic" <<<"$existing"; then
    echo "create-topics: topic $topic is missing after creation" >&2
    missing=1
  fi
done < "$TOPICS_FILE"
[[ "$missing" == 0 ]] || exit 1

echo "create-topics: $count topics present on $BOOTSTRAP (partitions=$PARTITIONS, replication=$REPLICATION)"
