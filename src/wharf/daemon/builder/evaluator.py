"""Evaluating a parsed Dockerfile, step by step, as Docker's classic builder does: stages split at
FROM, every instruction's result an image (config + manifest in the content store), the cache
consulted before each step, output as the Engine API's JSON message stream.

`Builder.build(context, options, send)` returns the final image id; the dispatchers (one per
instruction) are in dispatchers.py and call back into `BuildRun` to commit their results."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth
from wharf.containerd.core.images import Image
from wharf.daemon.backend.distribution import DistributionService
from wharf.daemon.backend.images import DANGLING_PREFIX, ImageService, parse_reference
from wharf.daemon.backend.supervisor import Supervisor
from wharf.daemon.builder import imagestate
from wharf.daemon.builder.cache import BuildCache, cache_key
from wharf.daemon.builder.cache_sources import CacheSources, resolve_cache_sources
from wharf.daemon.builder.context import BuildContext
from wharf.daemon.builder.imagestate import ImageState
from wharf.daemon.builder.parser import DockerfileSyntaxError, Node, parse
from wharf.daemon.builder.rootfs import mounted
from wharf.daemon.builder.runner import BUILD_LABEL, RunSettings
from wharf.daemon.builder.shell import ShellLexer, ShellSyntaxError

Send = Callable[[dict[str, Any]], Awaitable[None]]

PROXY_ARGS = frozenset({
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
})  # fmt: skip
DEFAULT_SHELL = ["/bin/sh", "-c"]
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


class DockerfileInvalid(errdefs.InvalidArgument):
    """The Dockerfile itself is refused, before any step runs: Docker answers this with a 400,
    not inside a 200 build stream, since nothing has been written yet."""


class BuildFailed(errdefs.WharfError):
    """A step failed; `code` is the failing command's exit code (0 when not a RUN)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = ""
    buildargs: dict[str, str | None] = field(default_factory=dict)
    nocache: bool = False
    rm: bool = True
    forcerm: bool = False
    pull: bool = False
    quiet: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    network_mode: str = ""
    """RUN steps' network: "" (loopback only), "host", or a network's name or id (run_network.py)."""
    extra_hosts: list[str] = field(default_factory=list)
    """`name:ip` lines RUN steps see in /etc/hosts (`--add-host`)."""
    cache_from: list[str] = field(default_factory=list)
    """`--cache-from` images: when given, only their ancestors are cache hits (cache_sources.py)."""
    registry_auth: dict[str, RegistryAuth] = field(default_factory=dict)
    """Credentials per registry (X-Registry-Config), for base images FROM pulls."""


@dataclass
class Stage:
    index: int
    name: str
    nodes: list[Node]
    state: ImageState = field(default_factory=imagestate.scratch)
    args: dict[str, str | None] = field(default_factory=dict)
    shell: list[str] = field(default_factory=lambda: list(DEFAULT_SHELL))
    cmd_set: bool = False
    """CMD was given in this stage (ENTRYPOINT then keeps it; otherwise resets the base's)."""


class BuildOutput:
    def __init__(self, send: Send, quiet: bool) -> None:
        self._send = send
        self.quiet = quiet

    async def stream(self, text: str) -> None:
        if not self.quiet:
            await self._send({"stream": text})

    async def message(self, message: dict[str, Any]) -> None:
        if not self.quiet:
            await self._send(message)

    async def aux(self, image_id: str) -> None:
        await self._send({"aux": {"ID": image_id}})


def split_stages(nodes: list[Node]) -> tuple[list[Node], list[Stage]]:
    meta: list[Node] = []
    stages: list[Stage] = []
    for node in nodes:
        if node.keyword == "from":
            name = node.args[2].lower() if len(node.args) >= 3 and node.args[1].lower() == "as" else ""
            if len(node.args) not in (1, 3) or (len(node.args) == 3 and node.args[1].lower() != "as"):
                raise DockerfileInvalid(
                    f"dockerfile parse error on line {node.start_line}: FROM requires either one or three "
                    "arguments"
                )
            stages.append(Stage(len(stages), name, [node]))
        elif not stages:
            if node.keyword != "arg":
                raise DockerfileInvalid(
                    f"dockerfile parse error on line {node.start_line}: no build stage in current context"
                )
            meta.append(node)
        else:
            stages[-1].nodes.append(node)
    if not stages:
        raise DockerfileInvalid("the Dockerfile has no FROM instruction: no build stage in current context")
    return meta, stages


def _stage_references(stage: Stage) -> list[str]:
    """Names a stage may take from other stages, as written."""
    refs = [stage.nodes[0].args[0]] if stage.nodes and stage.nodes[0].args else []
    for node in stage.nodes[1:]:
        for raw in node.flags:
            name, _, value = raw[2:].partition("=")
            if node.keyword in ("copy", "add") and name == "from":
                refs.append(value)
            elif node.keyword == "run" and name == "mount":
                for item in value.split(","):
                    key, _, item_value = item.partition("=")
                    if key.strip().lower() == "from":
                        refs.append(item_value)
    return refs


class Builder:
    def __init__(
        self, supervisor: Supervisor, images: ImageService, distribution: DistributionService,
        cache: BuildCache, settings: RunSettings, work_dir: str,
    ) -> None:  # fmt: skip
        self.supervisor = supervisor
        self.images = images
        self.distribution = distribution
        self.cache = cache
        self.settings = settings
        self.work_dir = work_dir
        os.makedirs(work_dir, mode=0o700, exist_ok=True)

    async def build(self, context: BuildContext, options: BuildOptions, send: Send) -> str:
        refs = [parse_reference(tag) for tag in options.tags]
        if not context.dockerfile_text:
            raise DockerfileInvalid(f"the Dockerfile ({options.dockerfile or 'Dockerfile'}) cannot be empty")
        try:
            dockerfile = parse(context.dockerfile_text)
        except DockerfileSyntaxError as err:
            raise DockerfileInvalid(str(err)) from None
        if not dockerfile.nodes:  # comments, directives or blank lines only
            raise DockerfileInvalid("failed to parse Dockerfile: file with no instructions")
        run = BuildRun(self, context, options, BuildOutput(send, options.quiet), ShellLexer(dockerfile.escape))
        if options.cache_from:
            run.cache_sources = await resolve_cache_sources(self.images, options.cache_from)
        try:
            image = await run.execute(dockerfile.nodes)
        except ShellSyntaxError as err:
            raise errdefs.InvalidArgument(str(err)) from None
        if not image.image_id:
            await imagestate.save(self.supervisor.content, image)
        await run.output.aux(image.image_id)
        unused = sorted(set(options.buildargs) - run.consumed_args - PROXY_ARGS)
        if unused:
            await run.output.stream(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        await run.output.stream(f"Successfully built {image.short_id}\n")
        await self._name(image, refs, run.output)
        if options.quiet:
            await send({"stream": image.image_id + "\n"})  # all a quiet build says (Docker's router)
        return image.image_id

    async def _name(self, image: ImageState, refs: list[Any], output: BuildOutput) -> None:
        target = imagestate.manifest_descriptor(image)
        if not refs:
            await self.supervisor.images.update(Image(name=DANGLING_PREFIX + image.image_id, target=target))
            return
        for ref in refs:
            await self.supervisor.images.update(Image(name=str(ref), target=target))
            self.images.publish("tag", image.image_id, ref.familiar())
            await output.stream(f"Successfully tagged {ref.familiar()}\n")
        with contextlib.suppress(errdefs.NotFound):
            await self.supervisor.images.delete(DANGLING_PREFIX + image.image_id)


class BuildRun:
    """The state of one build: stages, args, step counter, output."""

    def __init__(
        self, builder: Builder, context: BuildContext, options: BuildOptions, output: BuildOutput,
        lexer: ShellLexer,
    ) -> None:  # fmt: skip
        self.builder = builder
        self.supervisor = builder.supervisor
        self.context = context
        self.options = options
        self.output = output
        self.lexer = lexer
        self.meta_args: dict[str, str | None] = {}
        self.consumed_args: set[str] = set()
        self.stages: list[Stage] = []
        self.step = 0
        self.total = 0
        self.cache_sources: CacheSources | None = None
        """With `--cache-from`: the images cache hits must belong to."""

    # ---- driving --------------------------------------------------------------------------

    async def execute(self, nodes: list[Node]) -> ImageState:
        from wharf.daemon.builder.dispatchers import DISPATCHERS, dispatch_meta_arg

        meta, stages = split_stages(nodes)
        target = len(stages) - 1
        if self.options.target:
            wanted = self.options.target.lower()
            matches = [stage.index for stage in stages if stage.name == wanted]
            if not matches:
                raise errdefs.InvalidArgument(f"failed to reach build target {self.options.target} in Dockerfile")
            target = matches[0]
        stages = stages[: target + 1]
        if self.options.labels:
            pairs: list[str] = []
            for key, value in sorted(self.options.labels.items()):
                pairs += [key, value]
            text = "LABEL " + " ".join(f'"{k}"="{v}"' for k, v in sorted(self.options.labels.items()))
            stages[-1].nodes.append(Node("label", pairs, text, 0, 0))  # line 0: from the API, not expanded
        self.stages = stages
        for node in meta:
            dispatch_meta_arg(self, node)
        needed = self.stages_feeding(stages, target)
        self.total = len(meta) + sum(len(stage.nodes) for stage in stages if stage.index in needed)
        for node in meta:
            await self.announce(node)
        for stage in stages:
            if stage.index not in needed:
                continue  # a stage the target doesn't use (as BuildKit, unlike the classic builder)
            for node in stage.nodes:
                await self.announce(node)
                handler = DISPATCHERS.get(node.keyword)
                if handler is None:
                    raise errdefs.InvalidArgument(f"unknown instruction: {node.keyword.upper()}")
                await handler(self, stage, node)
                await self.output.stream(f" ---> {stage.state.short_id}\n")
        return stages[-1].state

    def stages_feeding(self, stages: list[Stage], target: int) -> set[int]:
        """The target and the stages it uses (FROM, COPY --from, RUN --mount from=), transitively.
        A reference with a variable the meta ARGs can't settle keeps every earlier stage."""
        env = {k: v for k, v in self.meta_args.items() if v is not None}
        needed: set[int] = set()
        pending = [target]
        while pending:
            index = pending.pop()
            if index in needed:
                continue
            needed.add(index)
            for ref in _stage_references(stages[index]):
                if "$" in ref:
                    if not all(name in env for name in _VARIABLE.findall(ref)):
                        pending.extend(range(index))  # a stage ARG: only known while building
                        continue
                    ref = self.lexer.expand(ref, env)
                lowered = ref.lower()
                pending += [s.index for s in stages[:index]
                            if s.name == lowered or (lowered.isdigit() and int(lowered) == s.index)]  # fmt: skip
        return needed

    async def announce(self, node: Node) -> None:
        self.step += 1
        await self.output.stream(f"Step {self.step}/{self.total} : {node.original.strip()}\n")

    # ---- variables ------------------------------------------------------------------------

    def expansion_env(self, stage: Stage) -> dict[str, str]:
        env = {k: v for k, v in stage.args.items() if v is not None}
        env.update(stage.state.env_map())
        return env

    def run_args(self, stage: Stage) -> dict[str, str]:
        """Build args a RUN sees as environment: declared ARGs and the predefined proxy args."""
        args = {k: v for k, v in stage.args.items() if v is not None}
        for name in PROXY_ARGS:
            value = self.options.buildargs.get(name)
            if value is not None and name not in args:
                args[name] = value
        return args

    def expand(self, stage: Stage, word: str) -> str:
        return self.lexer.expand(word, self.expansion_env(stage))

    def expand_words(self, stage: Stage, word: str) -> list[str]:
        return self.lexer.expand_words(word, self.expansion_env(stage))

    # ---- cache and commits ----------------------------------------------------------------

    async def cached(
        self, key: str, parent: ImageState | None = None, created_by: Collection[str] = (),
        change: Callable[[ImageState], None] | None = None,
    ) -> ImageState | None:  # fmt: skip
        """The cached image of a step, or None. With `--cache-from`, a miss may still be restored
        from a source image (`parent`, the history texts the step would write, its config change)."""
        if self.options.nocache:
            return None
        manifest = self.builder.cache.get(key)
        if manifest is None:
            return await self._restored(key, parent, created_by, change)
        try:
            state = await imagestate.load(self.supervisor.content, manifest)
        except (errdefs.NotFound, ValueError, KeyError):
            self.builder.cache.forget(key)
            return None
        if self.cache_sources is not None and not self.cache_sources.allows(state.config):
            return await self._restored(key, parent, created_by, change)
        await self.output.stream(" ---> Using cache\n")
        return state

    async def _restored(
        self, key: str, parent: ImageState | None, created_by: Collection[str],
        change: Callable[[ImageState], None] | None,
    ) -> ImageState | None:  # fmt: skip
        if self.cache_sources is None or parent is None or not created_by:
            return None
        step = self.cache_sources.restore(parent.config, created_by)
        if step is None:
            return None
        state = parent.child()
        if change is not None:
            change(state)
        state.config.setdefault("history", []).append(step.history)
        if step.history.get("created"):
            state.config["created"] = step.history["created"]
        if step.layer is not None:
            state.layers.append(step.layer)
            state.config.setdefault("rootfs", {"type": "layers", "diff_ids": []}).setdefault(
                "diff_ids", []).append(step.diff_id)  # fmt: skip
        await self.remember(key, state)
        await self.output.stream(" ---> Using cache\n")
        return state

    async def remember(self, key: str, state: ImageState) -> None:
        await imagestate.save(self.supervisor.content, state)
        self.builder.cache.put(key, state.manifest_digest)

    async def commit_config(
        self, stage: Stage, key_text: str, created_by: str, change: Callable[[ImageState], None]
    ) -> None:
        """A config-only step: a new image with an empty-layer history entry."""
        key = cache_key(stage.state.image_id, key_text)
        history_text = f"/bin/sh -c #(nop)  {created_by}"
        hit = await self.cached(key, stage.state, [history_text], change)
        if hit is not None:
            stage.state = hit
            return
        state = stage.state.child()
        change(state)
        state.add_history(history_text, empty_layer=True)
        await self.remember(key, state)
        stage.state = state

    async def chain_of(self, state: ImageState) -> str:
        return await imagestate.chain_of(self.supervisor.unpacker, state)

    def new_mount_dir(self) -> str:
        path = os.path.join(self.builder.work_dir, "mnt")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    async def layer_from_files(
        self, stage: Stage, key: str, created_by: str, write: Callable[[str], None],
        change: Callable[[ImageState], None] | None = None,
    ) -> None:  # fmt: skip
        """COPY/ADD: a snapshot over the stage's rootfs, `write(rootfs)` into it, its diff the layer."""
        parent_chain = await self.chain_of(stage.state)
        snapshot_key = f"build-{secrets.token_hex(12)}"
        await self.supervisor.snapshots.prepare(snapshot_key, parent_chain, {BUILD_LABEL: "1"})
        try:
            async with mounted(self.supervisor.snapshots, snapshot_key, self.new_mount_dir()) as rootfs:
                await asyncio.to_thread(write, rootfs)
            result = await self.supervisor.diff.diff(snapshot_key, False, True)
        finally:
            with contextlib.suppress(errdefs.NotFound):
                await self.supervisor.snapshots.remove(snapshot_key)
        state = stage.state.child()
        if change is not None:
            change(state)
        state.add_layer(result.layer, result.diff_id)
        state.add_history(created_by, empty_layer=False)
        await self.remember(key, state)
        stage.state = state

    def stage_named(self, name: str, before: int) -> Stage | None:
        lowered = name.lower()
        for stage in self.stages[:before]:
            if stage.name == lowered or (lowered.isdigit() and int(lowered) == stage.index):
                return stage
        return None
