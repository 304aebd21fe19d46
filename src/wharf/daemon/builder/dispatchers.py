"""One dispatcher per Dockerfile instruction: each turns a node into the stage's next image.

Config-only instructions (ENV, LABEL, CMD…) change the image config with an empty-layer history
entry; RUN runs a container and takes its diff as a layer; COPY/ADD write files into a snapshot
and take its diff. Words are expanded (ENV, ARG and build args) where Docker expands them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import posixpath
import re
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth
from wharf.daemon.builder import imagestate
from wharf.daemon.builder.cache import cache_key
from wharf.daemon.builder.context import OutsideContext, resolve_in_root
from wharf.daemon.builder.copy import CopyOptions, copy_into, make_dirs
from wharf.daemon.builder.evaluator import BuildFailed, BuildRun, Stage
from wharf.daemon.builder.imagestate import ImageState
from wharf.daemon.builder.parser import Node, parse
from wharf.daemon.builder.rootfs import mounted
from wharf.daemon.builder.run_mounts import prepare_mounts
from wharf.daemon.builder.run_network import RunNetwork
from wharf.daemon.builder.runner import BuildContainer
from wharf.daemon.builder.sources import ContextSource, CopySource, DirectorySource
from wharf.oci import reference

Dispatcher = Callable[[BuildRun, Stage, Node], Awaitable[None]]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
            "h": 3_600_000_000_000}  # fmt: skip


def _known_flags(node: Node, allowed: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in node.flags:
        name, sep, value = raw[2:].partition("=")
        if name not in allowed:
            raise errdefs.InvalidArgument(f"dockerfile parse error on line {node.start_line}: unknown flag: --{name}")
        out[name] = value if sep else "true"
    return out


def _command(stage: Stage, node: Node) -> list[str]:
    """Exec form as written; shell form through the stage's SHELL."""
    if node.json:
        return list(node.args)
    return [*stage.shell, node.args[0] if node.args else ""]


# ---- FROM and ARG ---------------------------------------------------------------------------


def dispatch_meta_arg(run: BuildRun, node: Node) -> None:
    """ARG before the first FROM: defaults for FROM lines (and for ARGs redeclared in stages)."""
    env = {k: v for k, v in run.meta_args.items() if v is not None}
    for word in node.args:
        name, sep, default = word.partition("=")
        value: str | None = run.lexer.expand(default, env) if sep else None
        if name in run.options.buildargs and run.options.buildargs[name] is not None:
            value = run.options.buildargs[name]
            run.consumed_args.add(name)
        run.meta_args[name] = value
        if value is not None:
            env[name] = value


async def dispatch_from(run: BuildRun, stage: Stage, node: Node) -> None:
    _known_flags(node, {"platform"})
    env = {k: v for k, v in run.meta_args.items() if v is not None}
    name = run.lexer.expand(node.args[0], env)
    for meta_name in run.meta_args:
        if meta_name in node.args[0]:
            run.consumed_args.add(meta_name)
    if not name:
        raise errdefs.InvalidArgument("base name (" + node.args[0] + ") should not be blank")
    previous = run.stage_named(name, stage.index)
    if name.lower() == "scratch":
        stage.state = imagestate.scratch()
    elif previous is not None:
        stage.state = previous.state.child()
        stage.state.image_id = previous.state.image_id
        stage.state.manifest_digest = previous.state.manifest_digest
        stage.state.manifest_size = previous.state.manifest_size
    else:
        stage.state = await _base_image(run, name)
    triggers = list(stage.state.run_config.get("OnBuild") or [])
    if triggers:
        stage.state.run_config["OnBuild"] = None
        await run.output.stream(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
        for text in triggers:
            for trigger in parse(text).nodes:
                handler = DISPATCHERS.get(trigger.keyword)
                if handler is None or trigger.keyword in ("from", "onbuild", "maintainer"):
                    raise errdefs.InvalidArgument(f"invalid ONBUILD trigger: {text}")
                await handler(run, stage, trigger)


async def _base_image(run: BuildRun, name: str) -> ImageState:
    images = run.builder.images
    image = None
    if not run.options.pull:
        with contextlib.suppress(errdefs.NotFound):
            image = await images.resolve(name)
    if image is None:
        try:
            ref = reference.parse_normalized_tagged(name)
        except reference.InvalidReference as err:
            raise errdefs.InvalidArgument(f"invalid reference format: {name}: {err}") from None
        try:
            image = await run.builder.distribution.pull(ref, "", _auth_for(run, ref), run.output.message)
        except errdefs.WharfError:
            if not run.options.pull:
                raise
            image = await images.resolve(name)  # --pull with no registry: the local copy
    return ImageState(
        json.loads(json.dumps(image.config)), [layer.to_json() for layer in image.layers], image.id,
        image.manifest.digest, image.manifest.size,
    )  # fmt: skip


def _auth_for(run: BuildRun, ref: reference.Reference) -> RegistryAuth:
    auths = run.options.registry_auth
    candidates = [ref.domain, f"https://{ref.domain}", f"http://{ref.domain}"]
    if ref.domain == "docker.io":
        candidates += ["https://index.docker.io/v1/", "index.docker.io"]
    for candidate in candidates:
        if candidate in auths:
            return auths[candidate]
    return RegistryAuth()


async def dispatch_arg(run: BuildRun, stage: Stage, node: Node) -> None:
    declared = []
    for word in node.args:
        name, sep, default = word.partition("=")
        if not name:
            raise errdefs.InvalidArgument("ARG requires at least one argument")
        value: str | None = run.expand(stage, default) if sep else run.meta_args.get(name)
        if name in run.options.buildargs and run.options.buildargs[name] is not None:
            value = run.options.buildargs[name]
        run.consumed_args.add(name)
        stage.args[name] = value
        declared.append(f"{name}={value}" if value is not None else name)
    text = "ARG " + " ".join(declared)
    await run.commit_config(stage, text, text, lambda state: None)


# ---- config-only instructions -----------------------------------------------------------------


def _pairs(run: BuildRun, stage: Stage, node: Node) -> list[tuple[str, str]]:
    if node.start_line == 0:  # labels given to the API: taken literally
        return list(zip(node.args[0::2], node.args[1::2], strict=True))
    pairs = []
    for key, value in zip(node.args[0::2], node.args[1::2], strict=True):
        pairs.append((run.expand(stage, key), run.expand(stage, value)))
    return pairs


async def dispatch_env(run: BuildRun, stage: Stage, node: Node) -> None:
    pairs = []
    for key, value in _pairs(run, stage, node):
        if not key:
            raise errdefs.InvalidArgument("ENV names can not be blank")
        pairs.append((key, value))
    text = "ENV " + " ".join(f"{k}={v}" for k, v in pairs)

    def change(state: ImageState) -> None:
        for key, value in pairs:
            state.set_env(key, value)

    await run.commit_config(stage, text, text, change)


async def dispatch_label(run: BuildRun, stage: Stage, node: Node) -> None:
    pairs = _pairs(run, stage, node)
    text = "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)

    def change(state: ImageState) -> None:
        labels = dict(state.run_config.get("Labels") or {})
        labels.update(pairs)
        state.run_config["Labels"] = labels

    await run.commit_config(stage, text, text, change)


async def dispatch_maintainer(run: BuildRun, stage: Stage, node: Node) -> None:
    author = run.expand(stage, node.args[0]) if node.args else ""
    await run.commit_config(stage, f"MAINTAINER {author}", f"MAINTAINER {author}",
                            lambda state: state.config.__setitem__("author", author))  # fmt: skip


async def dispatch_workdir(run: BuildRun, stage: Stage, node: Node) -> None:
    if not node.args:
        raise errdefs.InvalidArgument("WORKDIR requires exactly one argument")
    path = run.expand(stage, node.args[0])
    current = stage.state.run_config.get("WorkingDir") or "/"
    resolved = posixpath.normpath(posixpath.join(current, path))
    text = f"WORKDIR {resolved}"

    def change(state: ImageState) -> None:
        state.run_config["WorkingDir"] = resolved

    key = cache_key(stage.state.image_id, text)
    hit = await run.cached(key, stage.state, [f"/bin/sh -c #(nop) {text}", f"/bin/sh -c #(nop)  {text}"], change)
    if hit is not None:
        stage.state = hit
        return
    # As Docker's builder: a missing directory is made (a layer), so RUN can start in it.
    chain = await run.chain_of(stage.state)
    exists = False
    if chain:
        async with mounted(run.supervisor.snapshots, chain, run.new_mount_dir()) as rootfs:
            exists = os.path.isdir(resolve_in_root(rootfs, resolved))
    if exists:
        await run.commit_config(stage, text, text, change)
        return
    await run.layer_from_files(stage, key, f"/bin/sh -c #(nop) {text}",
                               lambda rootfs: make_dirs(rootfs, resolved, 0, 0), change)  # fmt: skip


async def dispatch_user(run: BuildRun, stage: Stage, node: Node) -> None:
    if not node.args:
        raise errdefs.InvalidArgument("USER requires exactly one argument")
    user = run.expand(stage, node.args[0])
    await run.commit_config(stage, f"USER {user}", f"USER {user}",
                            lambda state: state.run_config.__setitem__("User", user))  # fmt: skip


async def dispatch_expose(run: BuildRun, stage: Stage, node: Node) -> None:
    ports: list[str] = []
    for word in node.args:
        for port in run.expand_words(stage, word):
            number, _, proto = port.partition("/")
            if not number.replace("-", "").isdigit():
                raise errdefs.InvalidArgument(f"Invalid containerPort: {port}")
            ports.append(f"{number}/{(proto or 'tcp').lower()}")
    text = "EXPOSE " + " ".join(sorted(ports))

    def change(state: ImageState) -> None:
        exposed = dict(state.run_config.get("ExposedPorts") or {})
        exposed.update({port: {} for port in ports})
        state.run_config["ExposedPorts"] = exposed

    await run.commit_config(stage, text, text, change)


async def dispatch_volume(run: BuildRun, stage: Stage, node: Node) -> None:
    paths: list[str] = []
    for word in node.args:
        paths += [run.expand(stage, word)] if node.json else run.expand_words(stage, word)
    paths = [p for p in paths if p]
    if not paths:
        raise errdefs.InvalidArgument("VOLUME specified can not be an empty string")
    text = f"VOLUME {json.dumps(paths)}"

    def change(state: ImageState) -> None:
        volumes = dict(state.run_config.get("Volumes") or {})
        volumes.update({p: {} for p in paths})
        state.run_config["Volumes"] = volumes

    await run.commit_config(stage, text, text, change)


async def dispatch_cmd(run: BuildRun, stage: Stage, node: Node) -> None:
    command = _command(stage, node)
    text = f"CMD {json.dumps(command)}"

    def change(state: ImageState) -> None:
        state.run_config["Cmd"] = command
        if not node.json:
            state.run_config["ArgsEscaped"] = True

    await run.commit_config(stage, text, text, change)
    stage.cmd_set = True


async def dispatch_entrypoint(run: BuildRun, stage: Stage, node: Node) -> None:
    command = _command(stage, node) if node.args else []
    text = f"ENTRYPOINT {json.dumps(command)}"
    keep_cmd = stage.cmd_set

    def change(state: ImageState) -> None:
        state.run_config["Entrypoint"] = command or None
        if not keep_cmd:
            state.run_config["Cmd"] = None  # the base image's CMD doesn't survive a new ENTRYPOINT

    await run.commit_config(stage, text, text, change)


async def dispatch_shell(run: BuildRun, stage: Stage, node: Node) -> None:
    if not node.args:
        raise errdefs.InvalidArgument("SHELL requires at least one argument")
    shell = list(node.args)
    text = f"SHELL {json.dumps(shell)}"
    stage.shell = shell
    await run.commit_config(stage, text, text, lambda state: state.run_config.__setitem__("Shell", shell))


async def dispatch_stopsignal(run: BuildRun, stage: Stage, node: Node) -> None:
    signal = run.expand(stage, node.args[0]) if node.args else ""
    from wharf.daemon.ocispec import stop_signal_number

    stop_signal_number(signal)
    await run.commit_config(stage, f"STOPSIGNAL {signal}", f"STOPSIGNAL {signal}",
                            lambda state: state.run_config.__setitem__("StopSignal", signal))  # fmt: skip


def _duration(text: str, flag: str) -> int:
    if text in ("", "0"):
        return 0
    total, position = 0, 0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += int(float(match.group(1)) * _UNIT_NS[match.group(2)])
        position = match.end()
    if position != len(text):
        raise errdefs.InvalidArgument(f"time: invalid duration \"{text}\" for --{flag}")
    return total


async def dispatch_healthcheck(run: BuildRun, stage: Stage, node: Node) -> None:
    flags = _known_flags(node, {"interval", "timeout", "start-period", "start-interval", "retries"})
    if not node.args:
        raise errdefs.InvalidArgument("HEALTHCHECK requires an argument")
    kind = node.args[0].upper()
    health: dict[str, Any]
    if kind == "NONE":
        if len(node.args) > 1 or flags:
            raise errdefs.InvalidArgument("HEALTHCHECK NONE takes no arguments")
        health = {"Test": ["NONE"]}
    elif kind == "CMD":
        rest = node.args[1:]
        if not rest:
            raise errdefs.InvalidArgument("Missing command after HEALTHCHECK CMD")
        health = {"Test": ["CMD", *rest] if node.json else ["CMD-SHELL", rest[0]]}
        for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                          ("start-interval", "StartInterval")):  # fmt: skip
            if flag in flags:
                health[key] = _duration(flags[flag], flag)
        if "retries" in flags:
            try:
                health["Retries"] = int(flags["retries"])
            except ValueError:
                raise errdefs.InvalidArgument(f"invalid --retries value: {flags['retries']}") from None
    else:
        raise errdefs.InvalidArgument(f"Unknown type {kind!r} in HEALTHCHECK (try CMD)")
    text = f"HEALTHCHECK {json.dumps(health, sort_keys=True)}"
    await run.commit_config(stage, text, text, lambda state: state.run_config.__setitem__("Healthcheck", health))


async def dispatch_onbuild(run: BuildRun, stage: Stage, node: Node) -> None:
    assert node.trigger is not None
    keyword, _, rest = node.args[0].strip().partition(" ")
    trigger = f"{keyword.upper()} {rest.strip()}".strip()
    text = f"ONBUILD {trigger}"

    def change(state: ImageState) -> None:
        state.run_config["OnBuild"] = list(state.run_config.get("OnBuild") or []) + [trigger]

    await run.commit_config(stage, text, text, change)


# ---- RUN ------------------------------------------------------------------------------------


async def dispatch_run(run: BuildRun, stage: Stage, node: Node) -> None:
    async with contextlib.AsyncExitStack() as stack:
        await _dispatch_run(run, stage, node, stack)


async def _dispatch_run(run: BuildRun, stage: Stage, node: Node, stack: contextlib.AsyncExitStack) -> None:
    flags = _known_flags(node, {"network", "mount", "security"})
    network = flags.get("network", "")
    if network not in ("", "default", "none", "host"):
        raise errdefs.InvalidArgument(f"RUN --network={network}: only default, none and host are supported")
    # `RUN --network` (BuildKit's) overrides the build's networkmode; `default` keeps it.
    run_network = RunNetwork(network if network in ("none", "host") else run.options.network_mode,
                             list(run.options.extra_hosts))  # fmt: skip
    if flags.get("security", "sandbox") != "sandbox":
        raise errdefs.InvalidArgument("RUN --security=insecure is not supported")
    mount_values = [raw.partition("=")[2] for raw in node.flags if raw.startswith("--mount=")]
    mounts, mounts_key = await prepare_mounts(run, stage, mount_values, stack) if mount_values else ([], "")
    if node.heredocs:
        body = node.args[0].strip() if node.args and not node.json else ""
        if len(node.heredocs) != 1 or not re.fullmatch(r"<<-?\s*['\"]?\w+['\"]?", body):
            raise errdefs.NotImplementedYet("RUN with a heredoc: only `RUN <<EOF` (a whole script) is supported")
        command = [*stage.shell, node.heredocs[0].content]  # the shell expands its variables
    else:
        command = _command(stage, node)
    build_args = run.run_args(stage)
    prefix = [f"|{len(build_args)}", *(f"{k}={v}" for k, v in sorted(build_args.items()))] if build_args else []
    created_by = " ".join(prefix + command)
    key = cache_key(stage.state.image_id, "RUN " + json.dumps(prefix + command) + network, mounts_key)
    hit = await run.cached(key, stage.state, [created_by])
    if hit is not None:
        stage.state = hit
        return
    parent_chain = await run.chain_of(stage.state)
    config = dict(stage.state.run_config)
    env = list(config.get("Env") or [])
    keys = {entry.partition("=")[0] for entry in env}
    env += [f"{k}={v}" for k, v in sorted(build_args.items()) if k not in keys]
    config["Env"] = env
    config["Image"] = stage.state.image_id
    container = BuildContainer(run.supervisor, run.builder.settings)
    await run.output.stream(f" ---> Running in {container.id[:12]}\n")

    succeeded = False
    try:
        code = await container.run(parent_chain, config, command, run.output.stream, mounts, run_network)
        if code != 0:
            raise BuildFailed(f"The command '{' '.join(command)}' returned a non-zero code: {code}", code)
        result = await container.take_layer()
        succeeded = True
    finally:
        await container.remove()
        if succeeded and run.options.rm or not succeeded and run.options.forcerm:
            await run.output.stream(f"Removing intermediate container {container.id[:12]}\n")
    state = stage.state.child()
    state.add_layer(result.layer, result.diff_id)
    state.add_history(created_by, empty_layer=False)
    await run.remember(key, state)
    stage.state = state


# ---- COPY and ADD -----------------------------------------------------------------------------


def _lookup_id(rootfs: str, database: str, name: str) -> tuple[int, int] | None:
    """(id, primary gid) of `name` in /etc/passwd or /etc/group of the rootfs."""
    try:
        with open(resolve_in_root(rootfs, f"/etc/{database}"), encoding="utf-8", errors="replace") as source:
            for line in source:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 3 and fields[0] == name:
                    gid = int(fields[3]) if database == "passwd" and len(fields) > 3 else int(fields[2])
                    return int(fields[2]), gid
    except (OSError, ValueError):
        return None
    return None


def resolve_chown(rootfs: str, chown: str) -> tuple[int, int]:
    user, sep, group = chown.partition(":")
    if user.isdigit():
        uid, gid = int(user), int(user)
    else:
        found = _lookup_id(rootfs, "passwd", user)
        if found is None:
            raise errdefs.InvalidArgument(f"unable to convert uid/gid chown string to host mapping: can't find uid for user {user}: no such user: {user}")
        uid, gid = found
    if sep:
        if group.isdigit():
            gid = int(group)
        else:
            found = _lookup_id(rootfs, "group", group)
            if found is None:
                raise errdefs.InvalidArgument(f"unable to convert uid/gid chown string to host mapping: can't find gid for group {group}: no such group: {group}")
            gid = found[0]
    return uid, gid


async def _dispatch_copy(run: BuildRun, stage: Stage, node: Node, add: bool) -> None:
    allowed = {"chown", "chmod", "link", "from"} if not add else {"chown", "chmod", "link", "checksum", "keep-git-dir"}
    flags = _known_flags(node, allowed)
    instruction = "ADD" if add else "COPY"
    words: list[str] = []
    for word in node.args:
        if node.heredocs and word.startswith("<<"):
            words.append(word)  # an inline file, named by its heredoc (expanded below)
            continue
        words += [run.expand(stage, word)] if node.json else run.expand_words(stage, word)
    if len(words) < 2:
        raise errdefs.InvalidArgument(f"{instruction} requires at least two arguments, but only one was provided. Destination could not be determined.")
    *patterns, dest = words
    if add and any(re.match(r"^[a-z]+://", p) for p in patterns):
        raise errdefs.NotImplementedYet("ADD from a URL is not supported by this builder")
    workdir = stage.state.run_config.get("WorkingDir") or "/"
    dest_path = dest if dest.startswith("/") else posixpath.join(workdir, dest)
    if dest.endswith("/") and not dest_path.endswith("/"):
        dest_path += "/"
    if dest in (".", "./") or dest.endswith("/."):
        dest_path = posixpath.normpath(dest_path) + "/"
    chmod: int | None = None
    if flags.get("chmod"):
        try:
            chmod = int(flags["chmod"], 8)
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid chmod parameter: {flags['chmod']}") from None
    chown = run.expand(stage, flags["chown"]) if flags.get("chown") else ""
    source_from = run.expand(stage, flags["from"]) if flags.get("from") else ""

    async with contextlib.AsyncExitStack() as stack:
        source: CopySource
        if node.heredocs:
            source, patterns = _heredoc_source(run, stage, node, patterns, stack)
        elif source_from:
            source = DirectorySource(await stage_root(run, stage, source_from, stack))
        else:
            source = ContextSource(run.context)
        sources: list[str] = []
        for pattern in patterns:
            matched = source.glob(pattern)
            if not matched:
                raise errdefs.NotFound(f"{instruction} failed: no source files were specified")
            sources += matched
        digest = await asyncio.to_thread(source.checksum, sources)
        options_text = " ".join(f"--{k}={v}" for k, v in sorted(flags.items()) if k != "link")
        key_text = f"{instruction} {options_text} {json.dumps(sources)} {dest_path}"
        key = cache_key(stage.state.image_id, key_text, digest)
        kind = "dir" if len(sources) > 1 or any(source.is_dir(s) for s in sources) else "file"
        created_by = f"/bin/sh -c #(nop) {instruction} {kind}:{digest.removeprefix('sha256:')} in {dest_path} "
        hit = await run.cached(key, stage.state, [created_by])
        if hit is not None:
            stage.state = hit
            return
        await asyncio.to_thread(source.prepare)

        def write(rootfs: str) -> None:
            uid = gid = None
            if chown:
                uid, gid = resolve_chown(rootfs, chown)
            options = CopyOptions(uid=uid, gid=gid, mode=chmod, extract_archives=add)
            copy_into(rootfs, source.root, sources, dest_path, options, source.strict, source.skip, source.reenter)

        await run.layer_from_files(stage, key, created_by, write)


async def stage_root(run: BuildRun, stage: Stage, name: str, stack: contextlib.AsyncExitStack) -> str:
    """The rootfs of a previous stage or an image, mounted read-only for the copy."""
    previous = run.stage_named(name, stage.index)
    if previous is not None:
        state = previous.state
    else:
        state = await _base_image(run, name)
    chain = await run.chain_of(state)
    if not chain:
        empty = os.path.join(run.new_mount_dir(), "empty-" + os.urandom(4).hex())
        os.makedirs(empty)
        stack.callback(os.rmdir, empty)
        return empty
    return await stack.enter_async_context(mounted(run.supervisor.snapshots, chain, run.new_mount_dir()))


_HEREDOC_VARIABLE = re.compile(r"\\\$|\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _expand_variables(text: str, env: dict[str, str]) -> str:
    """`$VAR` and `${VAR}` only; quotes and other characters stay as written (`\\$` is a `$`)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        return env.get(match.group(1) or match.group(2), "")

    return _HEREDOC_VARIABLE.sub(replace, text)


def _heredoc_source(
    run: BuildRun, stage: Stage, node: Node, patterns: list[str], stack: contextlib.AsyncExitStack
) -> tuple[DirectorySource, list[str]]:
    """`COPY <<EOF /dest`: each heredoc becomes a file (0644) named after its delimiter, in a
    private directory; variables in an unquoted heredoc are expanded (as BuildKit does)."""
    by_name = {heredoc.name: heredoc for heredoc in node.heredocs}
    directory = os.path.join(run.new_mount_dir(), "heredoc-" + os.urandom(6).hex())
    os.makedirs(directory, mode=0o700)
    stack.callback(shutil.rmtree, directory, True)
    names = []
    for pattern in patterns:
        match = re.fullmatch(r"<<-?\s*['\"]?(\w+)['\"]?", pattern)
        heredoc = by_name.get(match.group(1)) if match else None
        if heredoc is None:
            raise errdefs.NotImplementedYet("COPY mixing heredocs with context files is not supported")
        content = _expand_variables(heredoc.content, run.expansion_env(stage)) if heredoc.expand else heredoc.content
        path = os.path.join(directory, heredoc.name)
        with open(path, "w") as out:
            out.write(content)
        os.chmod(path, 0o644)
        names.append(heredoc.name)
    return DirectorySource(directory), names


async def _copy_failed(run: BuildRun, stage: Stage, node: Node, add: bool) -> None:
    """Docker's wording: `COPY failed: <why>`."""
    instruction = "ADD" if add else "COPY"
    try:
        await _dispatch_copy(run, stage, node, add)
    except (errdefs.NotFound, OutsideContext) as err:
        message = str(err)
        if message.startswith(f"{instruction} failed"):
            raise
        raise type(err)(f"{instruction} failed: {message}") from None


async def dispatch_copy(run: BuildRun, stage: Stage, node: Node) -> None:
    await _copy_failed(run, stage, node, add=False)


async def dispatch_add(run: BuildRun, stage: Stage, node: Node) -> None:
    await _copy_failed(run, stage, node, add=True)


DISPATCHERS: dict[str, Dispatcher] = {
    "from": dispatch_from,
    "arg": dispatch_arg,
    "env": dispatch_env,
    "label": dispatch_label,
    "maintainer": dispatch_maintainer,
    "workdir": dispatch_workdir,
    "user": dispatch_user,
    "expose": dispatch_expose,
    "volume": dispatch_volume,
    "cmd": dispatch_cmd,
    "entrypoint": dispatch_entrypoint,
    "shell": dispatch_shell,
    "stopsignal": dispatch_stopsignal,
    "healthcheck": dispatch_healthcheck,
    "onbuild": dispatch_onbuild,
    "run": dispatch_run,
    "copy": dispatch_copy,
    "add": dispatch_add,
}
