"""Running CNI plugins (the CNI spec's ADD/DEL/CHECK over a network configuration list).

Each plugin of a list is an executable found on the plugin path; it gets its configuration on
stdin (with `name`, `cniVersion`, the previous plugin's result as `prevResult`, and
`runtimeConfig` for the capabilities it declares) and the container in CNI_* variables. ADD runs
the list in order; DEL runs it in reverse with the result ADD gave, which is kept on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf import errdefs

DEFAULT_PLUGIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
CNI_VERSION = "1.0.0"


class PluginError(errdefs.System):
    """A plugin failed; `code` and `details` are the CNI error's."""

    def __init__(self, plugin: str, message: str, cni_code: int = 0, details: str = "") -> None:
        super().__init__(f"plugin {plugin} failed: {message}" + (f" ({details})" if details else ""))
        self.cni_code = cni_code


@dataclass
class Attachment:
    """Where a container is attached: its id, namespace file and interface name."""

    container_id: str
    netns: str
    ifname: str = "eth0"
    args: dict[str, str] = field(default_factory=dict)
    runtime_config: dict[str, Any] = field(default_factory=dict)
    """Capability arguments, e.g. `{"portMappings": [...]}`."""


class CNI:
    def __init__(self, cache_dir: Path, plugin_dirs: tuple[str, ...] = DEFAULT_PLUGIN_DIRS) -> None:
        self.cache_dir = cache_dir
        self.plugin_dirs = plugin_dirs

    def _plugin(self, kind: str) -> str:
        if "/" in kind or not kind:
            raise errdefs.InvalidArgument(f"invalid plugin type {kind!r}")
        for directory in self.plugin_dirs:
            candidate = os.path.join(directory, kind)
            if os.access(candidate, os.X_OK):
                return candidate
        raise errdefs.NotFound(f"failed to find plugin {kind!r} in path {list(self.plugin_dirs)}")

    def _cache_path(self, network: str, attachment: Attachment) -> Path:
        return self.cache_dir / f"{network}-{attachment.container_id}-{attachment.ifname}.json"

    def has_cached(self, network: str, attachment: Attachment) -> bool:
        """Whether an ADD of `network` for `attachment` left its result (so a DEL has work to do)."""
        return self._cache_path(network, attachment).exists()

    async def _invoke(self, command: str, plugin_conf: dict[str, Any], network: dict[str, Any],
                      attachment: Attachment, prev_result: dict[str, Any] | None) -> dict[str, Any] | None:
        kind = plugin_conf["type"]
        config = dict(plugin_conf)
        config["name"] = network["name"]
        config["cniVersion"] = network.get("cniVersion", CNI_VERSION)
        if prev_result is not None:
            config["prevResult"] = prev_result
        capabilities = plugin_conf.get("capabilities") or {}
        runtime = {k: v for k, v in attachment.runtime_config.items() if capabilities.get(k)}
        if runtime:
            config["runtimeConfig"] = runtime
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": attachment.container_id,
            "CNI_NETNS": attachment.netns,
            "CNI_IFNAME": attachment.ifname,
            "CNI_PATH": os.pathsep.join(self.plugin_dirs),
        }
        if attachment.args:
            env["CNI_ARGS"] = ";".join(["IgnoreUnknown=1"] + [f"{k}={v}" for k, v in attachment.args.items()])
        process = await asyncio.create_subprocess_exec(
            self._plugin(kind), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
        )
        stdout, stderr = await process.communicate(json.dumps(config).encode())
        if process.returncode != 0:
            try:
                error = json.loads(stdout)
                raise PluginError(kind, error.get("msg", "unknown error"), int(error.get("code", 0)),
                                  error.get("details", ""))
            except (ValueError, AttributeError):
                raise PluginError(kind, (stderr or stdout).decode(errors="replace").strip()) from None
        if command != "ADD" or not stdout.strip():
            return prev_result
        try:
            return dict(json.loads(stdout))
        except ValueError as err:
            raise PluginError(kind, f"invalid result: {err}") from err

    async def add(self, network: dict[str, Any], attachment: Attachment) -> dict[str, Any]:
        """Attach; returns the final CNI result (interfaces, ips, routes, dns)."""
        result: dict[str, Any] | None = None
        done: list[dict[str, Any]] = []
        try:
            for plugin in network["plugins"]:
                result = await self._invoke("ADD", plugin, network, attachment, result)
                done.append(plugin)
        except Exception:
            # Undo what the plugins before the failure did, so nothing is left half attached.
            partial = dict(network, plugins=done)
            await self._delete(partial, attachment, result)
            raise
        result = result or {}
        cache = self._cache_path(network["name"], attachment)
        cache.parent.mkdir(parents=True, exist_ok=True)
        temp = cache.with_suffix(".tmp")
        temp.write_text(json.dumps({"config": network, "result": result}))
        temp.replace(cache)
        return result

    async def delete(self, network: dict[str, Any] | None, attachment: Attachment, network_name: str = "") -> None:
        """Detach. Uses the configuration and result cached by add() when there is one."""
        name = network["name"] if network else network_name
        cache = self._cache_path(name, attachment)
        prev_result = None
        try:
            cached = json.loads(cache.read_text())
            # The configuration the ADD ran with: its plugins made what the DEL must undo (an
            # endpoint attached by an older Wharf may have, e.g., `ipMasq` chains).
            network = cached["config"] or network
            prev_result = cached.get("result")
        except (OSError, ValueError, KeyError):
            if network is None:
                return
        await self._delete(network, attachment, prev_result)
        cache.unlink(missing_ok=True)

    async def _delete(self, network: dict[str, Any], attachment: Attachment,
                      prev_result: dict[str, Any] | None) -> None:
        errors = []
        for plugin in reversed(network["plugins"]):
            try:
                await self._invoke("DEL", plugin, network, attachment, prev_result)
            except errdefs.WharfError as err:
                errors.append(str(err))
        if errors:
            raise errdefs.System("; ".join(errors))

    async def check(self, network: dict[str, Any], attachment: Attachment) -> None:
        cache = self._cache_path(network["name"], attachment)
        try:
            prev_result = json.loads(cache.read_text())["result"]
        except (OSError, ValueError, KeyError) as err:
            raise errdefs.NotFound(f"{attachment.container_id} is not attached to {network['name']}") from err
        for plugin in network["plugins"]:
            await self._invoke("CHECK", plugin, network, attachment, prev_result)
