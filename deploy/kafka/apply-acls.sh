#!/bin/bash
# Make the broker's ACLs exactly ACLS_FILE (deploy/kafka/acls.txt, the one source):
# add the grants that are missing, remove every ACL that is not in the file (of any
# principal), then list again and fail unless the broker now holds exactly the file.
# Idempotent; run by deploy/kafka/init.sh (kafka-init) as the superuser.
#
#   KAFKA_BOOTSTRAP       broker (kafka:9092)
#   KAFKA_COMMAND_CONFIG  client config with the superuser's SASL login
#   ACLS_FILE             the ACL file (/etc/crm/kafka/acls.txt)
#   KAFKA_BIN             Kafka's bin directory (/opt/kafka/bin)
#   ACLS_DRY_RUN=1        only print what would change
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
ACLS_FILE="${ACLS_FILE:-/etc/crm/kafka/acls.txt}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
SUPERUSER="admin"

fail() { echo "apply-acls: $*" >&2; exit 1; }

auth=()
if [[ -n "${KAFKA_COMMAND_CONFIG:-}" ]]; then
  auth=(--command-config "$KAFKA_COMMAND_CONFIG")
fi
kafka_acls() { "$KAFKA_BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" "${auth[@]}" "$@"; }

[[ -s "$ACLS_FILE" ]] || fail "$ACLS_FILE is missing or empty"

# One normalised line per ACL: principal|permission|host|operation|resourceType|patternType|name
desired_acls() {
  local line_no=0 principal operation resource name extra type pattern
  while read -r principal operation resource name extra || [[ -n "$principal" ]]; do
    line_no=$((line_no + 1))
    [[ -z "$principal" || "$principal" == \#* ]] && continue
    local where="$ACLS_FILE:$line_no"
    [[ -n "$name" && -z "$extra" ]] || fail "$where: expected 'principal operation resource name'"
    [[ "$principal" =~ ^[a-z][a-z0-9-]*$ ]] || fail "$where: bad principal '$principal'"
    [[ "$principal" != "$SUPERUSER" ]] || fail "$where: $SUPERUSER is the superuser, it needs no ACL"
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || fail "$where: bad resource name '$name'"
    case "$operation" in
      READ|WRITE) ;;
      *) fail "$where: operation must be READ or WRITE, not '$operation'" ;;
    esac
    case "$resource" in
      topic) type=TOPIC; pattern=LITERAL ;;
      group) type=GROUP; pattern=LITERAL ;;
      group-prefix) type=GROUP; pattern=PREFIXED ;;
      *) fail "$where: resource must be topic, group or group-prefix, not '$resource'" ;;
    esac
    [[ "$type" == TOPIC || "$operation" == READ ]] || fail "$where: a group can only be READ"
    printf 'User:%s|ALLOW|*|%s|%s|%s|%s\n' "$principal" "$operation" "$type" "$pattern" "$name"
  done < "$ACLS_FILE"
}

# kafka-acls.sh --list prints, per resource:
#   Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=x, patternType=LITERAL)`:
#    	(principal=User:a, host=*, operation=WRITE, permissionType=ALLOW)
current_acls() {
  kafka_acls --list | awk '
    /^Current ACLs for resource/ {
      type = $0; sub(/.*resourceType=/, "", type); sub(/,.*/, "", type)
      name = $0; sub(/.*, name=/, "", name); sub(/, patternType=.*/, "", name)
      pattern = $0; sub(/.*patternType=/, "", pattern); sub(/\).*/, "", pattern)
      next
    }
    /\(principal=/ {
      entry = $0; sub(/^[ \t]*\(/, "", entry); sub(/\)[ \t]*$/, "", entry)
      n = split(entry, parts, ", ")
      for (i = 1; i <= n; i++) {
        eq = index(parts[i], "=")
        field[substr(parts[i], 1, eq - 1)] = substr(parts[i], eq + 1)
      }
      print field["principal"] "|" field["permissionType"] "|" field["host"] "|" field["operation"] "|" type "|" pattern "|" name
    }'
}

# kafka-acls.sh arguments for a group of ACLs that differ only in the resource name.
resource_args() {  # type pattern names...
  local type="$1" pattern="$2" option name
  shift 2
  case "$type" in
    TOPIC) option=--topic ;;
    GROUP) option=--group ;;
    TRANSACTIONAL_ID) option=--transactional-id ;;
    DELEGATION_TOKEN) option=--delegation-token ;;
    USER) option=--user-principal ;;
    CLUSTER) printf '%s\n' --cluster; return ;;
    *) fail "cannot handle resource type $type" ;;
  esac
  printf '%s\n' --resource-pattern-type "${pattern,,}"
  for name in "$@"; do printf '%s\n' "$option" "$name"; done
}

# Apply add/remove to the ACLs on stdin, one kafka-acls.sh call per
# (principal, permission, host, operation, resource type, pattern).
change() {  # add|remove
  local action="$1" key principal permission host operation type pattern name
  declare -A names=()
  local -a order=()
  while IFS='|' read -r principal permission host operation type pattern name; do
    key="$principal|$permission|$host|$operation|$type|$pattern"
    [[ -n "${names[$key]+set}" ]] || order+=("$key")
    names[$key]+="$name"$'\n'
  done
  for key in "${order[@]}"; do
    IFS='|' read -r principal permission host operation type pattern <<< "$key"
    local -a targets=()
    mapfile -t targets < <(printf '%s' "${names[$key]}")
    local -a args=()
    mapfile -t args < <(resource_args "$type" "$pattern" "${targets[@]}")
    local who=--allow-principal where=--allow-host
    if [[ "$permission" == DENY ]]; then who=--deny-principal; where=--deny-host; fi
    echo "apply-acls: $action $principal $permission $operation on $type ($pattern) ${targets[*]}"
    [[ "${ACLS_DRY_RUN:-0}" == 1 ]] && continue
    if [[ "$action" == add ]]; then
      kafka_acls --add "$who" "$principal" "$where" "$host" --operation "$operation" "${args[@]}" > /dev/null
    else
      kafka_acls --remove --force "$who" "$principal" "$where" "$host" --operation "$operation" "${args[@]}" > /dev/null
    fi
  done
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
desired_acls | LC_ALL=C sort -u > "$work/desired"
[[ -s "$work/desired" ]] || fail "$ACLS_FILE grants nothing: refusing to remove every ACL"
current_acls | LC_ALL=C sort -u > "$work/current"

LC_ALL=C comm -13 "$work/current" "$work/desired" > "$work/add"
LC_ALL=C comm -23 "$work/current" "$work/desired" > "$work/remove"
change add < "$work/add"
change remove < "$work/remove"
[[ "${ACLS_DRY_RUN:-0}" == 1 ]] && exit 0

current_acls | LC_ALL=C sort -u > "$work/after"
if ! cmp -s "$work/after" "$work/desired"; then
  echo "apply-acls: the broker's ACLs differ from $ACLS_FILE after applying it:" >&2
  diff "$work/desired" "$work/after" >&2 || true
  exit 1
fi
echo "apply-acls: $(wc -l < "$work/desired") ACLs in place ($(wc -l < "$work/add") added, $(wc -l < "$work/remove") removed)"
