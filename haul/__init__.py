"""haul's shared code: the wire contract, the runtime helpers, and the generated gRPC stubs."""
