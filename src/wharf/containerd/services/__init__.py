"""gRPC services of the supervisor API: thin adapters from protobuf to the core Protocols."""
