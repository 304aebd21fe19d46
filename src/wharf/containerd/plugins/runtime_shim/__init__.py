"""The TaskService: one wharf-shim per task, bundles under `<state>/bundles/<id>`."""

from wharf.containerd.plugins.runtime_shim.tasks import ShimTaskService

__all__ = ["ShimTaskService"]
