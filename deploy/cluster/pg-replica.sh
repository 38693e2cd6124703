#!/bin/sh
# The streaming replica of the compose `cluster` profile: copy the primary once (pg_basebackup -R
# writes standby.signal and the connection), then run as a hot standby.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" && chown postgres "$PGDATA" && chmod 700 "$PGDATA"
  until gosu postgres pg_isready -h postgres -U "$POSTGRES_USER"; do sleep 1; done
  PGPASSWORD="$POSTGRES_PASSWORD" gosu postgres pg_basebackup -h postgres -U "$POSTGRES_USER" -D "$PGDATA" -R -X stream
fi
exec gosu postgres postgres
