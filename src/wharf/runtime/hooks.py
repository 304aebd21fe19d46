"""OCI lifecycle hooks: each runs with the container's state JSON on stdin, within its timeout."""

from __future__ import annotations

from wharf import errdefs
from wharf.runtime import jsonlite as json
from wharf.runtime.specconv import Hook

TYPE_CHECKING = False  # importing typing costs milliseconds on every `create`
if TYPE_CHECKING:
    from typing import Any

# When each kind runs (runtime spec, "POSIX-platform Hooks"):
#   createRuntime, prestart (deprecated) - runtime namespace, after the namespaces exist, before pivot_root
#   createContainer - container namespaces, same moment (path resolved in the runtime's mount namespace)
#   startContainer - inside the container, after `start`, before the user's process is exec'd
#   poststart - runtime namespace, after the process started; poststop - after `delete`


def run_hooks(kind: str, hooks: list[Hook], state: dict[str, Any]) -> None:
    """Run each hook in order; the first that fails or times out raises System."""
    import subprocess

    payload = json.dumps(state).encode()
    for hook in hooks:
        env = dict(e.split("=", 1) for e in hook.env if "=" in e)
        try:
            result = subprocess.run(
                hook.args or [hook.path], executable=hook.path, input=payload, env=env,
                capture_output=True, timeout=hook.timeout or None, close_fds=True,
            )
        except subprocess.TimeoutExpired as err:
            raise errdefs.System(f"{kind} hook {hook.path} timed out after {hook.timeout}s") from err
        except OSError as err:
            raise errdefs.System(f"{kind} hook {hook.path}: {err.strerror}") from err
        if result.returncode != 0:
            output = (result.stderr or result.stdout).decode(errors="replace").strip()
            raise errdefs.System(f"{kind} hook {hook.path} exited with {result.returncode}: {output}")


def hooks_to_json(hooks: dict[str, list[Hook]]) -> dict[str, list[dict[str, Any]]]:
    return {kind: [{"path": h.path, "args": h.args, "env": h.env, "timeout": h.timeout} for h in items]
            for kind, items in hooks.items()}


def hooks_from_json(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[Hook]]:
    return {kind: [Hook(h["path"], list(h.get("args") or []), list(h.get("env") or []), h.get("timeout") or 0)
                   for h in items] for kind, items in data.items()}
