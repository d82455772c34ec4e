#!/bin/bash
# Runs once, on an empty data directory (postgres image's /docker-entrypoint-initdb.d).
# Creates one login role and one database per service; each role owns only its
# own database (and so, on PostgreSQL 15+, its public schema, which belongs to
# pg_database_owner) and PUBLIC may not connect to any of them.
# The roles' password comes from CRM_DB_PASSWORD (set in the environment, never
# in the compose file). Changing it later needs ALTER ROLE (this script does not
# run again on an existing volume).
set -euo pipefail

: "${CRM_DB_PASSWORD:?CRM_DB_PASSWORD must be set for the postgres container}"

for service in intake grading followup analytics; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v role="crm_${service}" -v db="crm_${service}" -v pw="$CRM_DB_PASSWORD" <<'EOSQL'
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT ALL ON DATABASE :"db" TO :"role";
EOSQL
  echo "initdb: database crm_${service} owned by role crm_${service}"
done

# The key vault: one data key per customer (erasure deletes it), used by all four
# services through CRM_VAULT_URL. Its own database and role, so its backups can be
# kept shorter than the services' (a restored key would un-erase a customer).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v role="crm_vault" -v db="crm_vault" -v pw="$CRM_DB_PASSWORD" <<'EOSQL'
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT ALL ON DATABASE :"db" TO :"role";
EOSQL
echo "initdb: database crm_vault owned by role crm_vault"
