"""Wharf: a container engine with the Docker Engine's architecture."""
