"""Engine API routes for volumes."""
