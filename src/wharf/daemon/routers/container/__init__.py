"""Engine API routes for containers."""
