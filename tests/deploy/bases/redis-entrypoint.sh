#!/bin/sh
# The official image turns protected mode off (the container's network is the boundary).
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
