"""Engine API client used by the wharf CLI (standard library only: the CLI must start fast)."""

from wharf.client.engine import APIError, EngineClient

__all__ = ["APIError", "EngineClient"]
