"""Engine API routes that look into a container: top, stats, archive (docker cp), export."""
