"""Engine API routes for images."""
