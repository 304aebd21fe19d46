"""wharfd: the Docker Engine API daemon. Reaches the supervisor only through `wharf.containerd.proxy`."""
