"""Engine API routes for networks."""
