"""Image unpacking: layers applied safely as overlay snapshots named by chain id."""

from wharf.containerd.plugins.unpack.unpacker import SnapshotUnpacker

__all__ = ["SnapshotUnpacker"]
