"""wharf-runc: an OCI runtime with runc's command line (see cli.py)."""
