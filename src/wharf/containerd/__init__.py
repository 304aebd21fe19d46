"""wharf-containerd: the supervisor (containers, tasks, content, snapshots, images, events)."""
