"""The wharf command line: docker-like commands over the Engine API (wharf.client only)."""
