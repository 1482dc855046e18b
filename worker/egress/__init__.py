"""The egress guard: a job's tools reach only public addresses, through a proxy that checks each
connection, and (where the platform allows) from a network namespace whose only way out is it.

How a job uses it (worker.tasks, worker.download):

    guard = EgressProxy(EgressPolicy(allowed_networks), max_connections_per_job=16).run_in_thread()
    egress = guard.proxy.tool_egress(job_id)   # the one object every engine takes its settings from
    ... download(job, egress, on_sample, should_stop)
    guard.stop()

Modules: `policy` (which addresses), `connect` (resolve once, judge, connect), `proxy` (the proxy
and its thread), `http`, `relay`, `socket_io` and `limits` (its parts), `tools` (`ToolEgress`),
`netns` and `bridge` (the isolated namespace and its way to the proxy), `thread` (a service on
its own loop).
"""
