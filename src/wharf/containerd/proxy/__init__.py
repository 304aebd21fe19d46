"""The supervisor's Protocols over gRPC, for wharfd: `connect(address) -> Supervisor`.

Daemon code can't tell these from the in-process plugins: same methods, same errdefs errors."""

from wharf.containerd.proxy.supervisor import Supervisor, connect

__all__ = ["Supervisor", "connect"]
