"""Engine API routes for distribution (what a reference names in its registry)."""
