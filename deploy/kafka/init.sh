#!/bin/bash
# Entrypoint of the one-shot `kafka-init` compose service (apache/kafka image), run
# as the superuser `admin` on every `docker compose up`. Idempotent:
#
# 1. topics: deploy/kafka/create-topics.sh (deploy/topics.txt);
# 2. SCRAM credentials: every principal named in ACLS_FILE gets its SCRAM-SHA-512
#    credential from KAFKA_<PRINCIPAL>_PASSWORD (set again on every run, which is
#    how a password is rotated); a SCRAM user that is no longer in the file loses
#    its credentials;
# 3. ACLs: deploy/kafka/apply-acls.sh makes the broker's ACLs exactly ACLS_FILE.
#
# Passwords go to kafka-configs.sh on its command line, inside this short-lived
# container only; they are never printed.
set -euo pipefail
umask 077

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
export KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
export ACLS_FILE="${ACLS_FILE:-$HERE/acls.txt}"
SUPERUSER="admin"
MECHANISM="SCRAM-SHA-512"
ITERATIONS=8192
PASSWORD_RULE='^[A-Za-z0-9._~-]{16,}$'  # no quotes, commas, brackets: see deploy/README.md

fail() { echo "kafka-init: $*" >&2; exit 1; }

[[ -n "${KAFKA_ADMIN_PASSWORD:-}" ]] || fail "KAFKA_ADMIN_PASSWORD is not set"
[[ "$KAFKA_ADMIN_PASSWORD" =~ $PASSWORD_RULE ]] || fail "KAFKA_ADMIN_PASSWORD: at least 16 characters of [A-Za-z0-9._~-]"
[[ -s "$ACLS_FILE" ]] || fail "$ACLS_FILE is missing or empty"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KAFKA_COMMAND_CONFIG="$work/admin.properties"
cat > "$KAFKA_COMMAND_CONFIG" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SUPERUSER" password="$KAFKA_ADMIN_PASSWORD";
EOF
unset KAFKA_ADMIN_PASSWORD

configs() {
  "$KAFKA_BIN/kafka-configs.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$KAFKA_COMMAND_CONFIG" "$@"
}

# 1. Topics (waits for the broker, then creates what is missing).
bash "$HERE/create-topics.sh"

# 2. Credentials of the principals in the ACL file (checked all before any is set).
mapfile -t principals < <(awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$ACLS_FILE" | LC_ALL=C sort -u)
[[ "${#principals[@]}" -gt 0 ]] || fail "$ACLS_FILE names no principal"
password_var() { local upper="${1^^}"; printf 'KAFKA_%s_PASSWORD' "${upper//-/_}"; }
for principal in "${principals[@]}"; do
  [[ "$principal" != "$SUPERUSER" ]] || fail "$ACLS_FILE: $SUPERUSER is the superuser, not an ACL principal"
  var="$(password_var "$principal")"
  [[ -n "${!var:-}" ]] || fail "$var is not set (the password of Kafka principal $principal)"
  [[ "${!var}" =~ $PASSWORD_RULE ]] || fail "$var: at least 16 characters of [A-Za-z0-9._~-]"
done
for principal in "${principals[@]}"; do
  var="$(password_var "$principal")"
  configs --alter --entity-type users --entity-name "$principal" \
    --add-config "$MECHANISM=[iterations=$ITERATIONS,password=${!var}]" > /dev/null
  echo "kafka-init: $MECHANISM credential of $principal set"
done

# SCRAM users the file no longer names (an integrator removed): no more logins.
# kafka-configs.sh prints: SCRAM credential configs for user-principal 'name' are SCRAM-SHA-512=iterations=8192
configs --describe --entity-type users \
  | sed -n "s/^SCRAM credential configs for user-principal '\([^']*\)' are \(.*\)$/\1 \2/p" \
  | while read -r user mechanisms; do
      [[ "$user" == "$SUPERUSER" ]] && continue
      printf '%s\n' "${principals[@]}" | grep -qxF "$user" && continue
      for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
        if [[ "$mechanisms" == *"$mechanism="* ]]; then
          configs --alter --entity-type users --entity-name "$user" --delete-config "$mechanism" > /dev/null
          echo "kafka-init: $mechanism credential of $user deleted (not in $ACLS_FILE)"
        fi
      done
    done

# 3. ACLs: exactly the file.
bash "$HERE/apply-acls.sh"
echo "kafka-init: done"
