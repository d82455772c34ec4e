#!/bin/bash
# Entrypoint of the `kafka` compose service (apache/kafka image): one KRaft node
# (broker + controller) with SASL on every listener and the StandardAuthorizer.
#
# 1. Every KAFKA_* variable of the container becomes a broker property, with the
#    image's own naming rule (`_` -> `.`, `__` -> `_`, `___` -> `-`), so the
#    settings stay visible in docker-compose.yml.
# 2. The secret part is added here, from KAFKA_ADMIN_PASSWORD (never from a file
#    in the repository): the JAAS entries the broker uses as a client of its own
#    listeners. The superuser `admin` (super.users) logs in to
#      * the controller listener with SASL/PLAIN (user_admin below is the only
#        account there; SCRAM cannot serve a controller listener), and
#      * the client listeners with SASL/SCRAM-SHA-512.
# 3. On the first start the storage is formatted with the admin's SCRAM
#    credential (`kafka-storage.sh format --add-scram`, KIP-900): the broker can
#    authenticate before anything else has run. Every other principal's
#    credential is created by kafka-init (deploy/kafka/init.sh).
# 4. A client config for the healthcheck (and for `docker compose exec kafka`
#    tools) is written to $CRM_KAFKA_CONF_DIR/admin.properties, mode 600.
#
# Operator notes: deploy/README.md, "Kafka authentication and ACLs".
set -euo pipefail
umask 077

KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
CONF_DIR="${CRM_KAFKA_CONF_DIR:-/tmp/crm-kafka}"
ADMIN_USER="admin"
SCRAM_MECHANISM="SCRAM-SHA-512"
CONTROLLER_MECHANISM="PLAIN"

fail() { echo "kafka-broker: $*" >&2; exit 1; }

[[ -n "${CLUSTER_ID:-}" ]] || fail "CLUSTER_ID is not set"
[[ -n "${KAFKA_ADMIN_PASSWORD:-}" ]] || fail "KAFKA_ADMIN_PASSWORD is not set"
# The password is placed in JAAS strings and in --add-scram's [name=...,password=...]:
# no quotes, commas, brackets or spaces (hex from `openssl rand -hex 24` is fine).
[[ "$KAFKA_ADMIN_PASSWORD" =~ ^[A-Za-z0-9._~-]{16,}$ ]] \
  || fail "KAFKA_ADMIN_PASSWORD must be at least 16 characters of [A-Za-z0-9._~-]"
[[ "${KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL:-}" == "$CONTROLLER_MECHANISM" ]] \
  || fail "KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL must be $CONTROLLER_MECHANISM"
[[ "${KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL:-}" == "$SCRAM_MECHANISM" ]] \
  || fail "KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL must be $SCRAM_MECHANISM"

# Variables of the Kafka launch scripts, and our secret: not broker properties.
NOT_PROPERTIES=" KAFKA_ADMIN_PASSWORD KAFKA_BIN KAFKA_HOME KAFKA_VERSION KAFKA_HEAP_OPTS KAFKA_OPTS \
KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_LOG4J_OPTS KAFKA_JMX_OPTS KAFKA_DEBUG \
KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_JMX_HOSTNAME "

property_name() {  # KAFKA_LISTENER_NAME_X_SCRAM___SHA___512_Y -> listener.name.x.scram-sha-512.y
  local key="${1#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  printf '%s' "${key//@/_}"
}

mkdir -p "$CONF_DIR"
props="$CONF_DIR/server.properties"
: > "$props"
for name in $(compgen -e | grep -E '^KAFKA_[A-Z0-9_]+$' | sort); do
  [[ "$NOT_PROPERTIES" == *" $name "* ]] && continue
  printf '%s=%s\n' "$(property_name "$name")" "${!name}" >> "$props"
done

# JAAS entries, one per SASL listener (from the listener map).
controllers=",${KAFKA_CONTROLLER_LISTENER_NAMES:?KAFKA_CONTROLLER_LISTENER_NAMES is not set},"
password="$KAFKA_ADMIN_PASSWORD"
IFS=',' read -r -a mappings <<< "${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:?KAFKA_LISTENER_SECURITY_PROTOCOL_MAP is not set}"
for mapping in "${mappings[@]}"; do
  listener="${mapping%%:*}"
  protocol="${mapping#*:}"
  case "$protocol" in
    SASL_PLAINTEXT|SASL_SSL) ;;
    *) fail "listener $listener uses $protocol: every listener must authenticate (SASL_PLAINTEXT or SASL_SSL)" ;;
  esac
  lower="${listener,,}"
  if [[ "$controllers" == *",$listener,"* ]]; then
    printf 'listener.name.%s.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="%s" password="%s" user_%s="%s";\n' \
      "$lower" "$ADMIN_USER" "$password" "$ADMIN_USER" "$password" >> "$props"
  else
    printf 'listener.name.%s.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";\n' \
      "$lower" "$ADMIN_USER" "$password" >> "$props"
  fi
done

# Refuse to start open: these are what make the ACLs mean anything.
grep -qxF "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" "$props" \
  || fail "KAFKA_AUTHORIZER_CLASS_NAME must be the StandardAuthorizer"
grep -qxF "allow.everyone.if.no.acl.found=false" "$props" \
  || fail "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND must be false"
grep -qxF "super.users=User:$ADMIN_USER" "$props" \
  || fail "KAFKA_SUPER_USERS must be exactly User:$ADMIN_USER"

# Client config of the superuser, for the healthcheck and for operators' tools.
cat > "$CONF_DIR/admin.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$SCRAM_MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$password";
EOF

# First start only (--ignore-formatted afterwards): the admin's SCRAM credential
# goes into the bootstrap metadata. Changing KAFKA_ADMIN_PASSWORD later needs
# kafka-configs.sh first (deploy/README.md, "Rotating a password").
"$KAFKA_BIN/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$props" \
  --add-scram "$SCRAM_MECHANISM=[name=$ADMIN_USER,iterations=8192,password=$password]"

unset KAFKA_ADMIN_PASSWORD password
exec "$KAFKA_BIN/kafka-server-start.sh" "$props"
