#!/bin/sh
# docker-entrypoint-initdb.d of the primary (compose `cluster` profile): let the replica stream.
set -e
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
