"""Engine API routes for systems."""
