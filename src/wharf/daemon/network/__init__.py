"""Docker's network model (bridge, host, none, container:) over the CNI reference plugins."""
