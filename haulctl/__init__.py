"""haul's command-line tools: `haul`, the client of a running service, and `haul-admin`,
the operator's tool (copying the job database between SQLite and PostgreSQL)."""
