"""Engine API routes for exec instances."""
