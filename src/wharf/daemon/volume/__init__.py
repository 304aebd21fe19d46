"""Volumes: the `local` driver (directories under the data root, or mounts from driver options)."""
