#!/bin/sh
# The official image's contract, in short: an empty data folder is initialised with
# POSTGRES_USER as superuser (password POSTGRES_PASSWORD) and POSTGRES_DB, then the server
# listens on every interface and asks remote clients for the password.
set -eu
if [ "${1:-postgres}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    user="${POSTGRES_USER:-postgres}"
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    db="${POSTGRES_DB:-$user}"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
fi
if [ "${1:-postgres}" = postgres ]; then
    shift || true
    exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
