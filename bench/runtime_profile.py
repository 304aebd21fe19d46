"""Where the milliseconds of one `wharf-runc run` go: a timeline of its phases, parent and children.

Runs wharf-runc in-process the way its launcher does (`python -I -S`, `wharf` on sys.path), with
the runtime's phase functions wrapped to log their start and end (CLOCK_MONOTONIC, shared with
the forked bootstrap and init) into a file; `exec` of the interpreter is taken from this script's
own spawn time. The import time is measured by the interpreter itself (`-X importtime`, summed).

    .venv/bin/python -m bench.runtime_profile [--runs 10] [--verb run|create]

Prints, per phase, the median over the runs of its start and duration (ms from the spawn).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# (module, attribute) of the phases worth a line; nested ones are indented by the report.
PHASES = (
    ("wharf.runtime.specconv", "load_bundle"),
    ("wharf.runtime.state.StateStore", "make_dir"),
    ("wharf.runtime.cgroups.v1.V1Manager", "create"),
    ("wharf.runtime.cgroups.v2.V2Manager", "create"),
    ("wharf.runtime.init", "bootstrap"),
    ("wharf.runtime.init", "preload"),
    ("wharf.runtime.seccomp", "build_filter"),
    ("wharf.linux.namespaces", "unshare"),
    ("wharf.linux.namespaces", "join_path"),
    ("wharf.runtime.init", "run_init"),
    ("wharf.runtime.cgroups.v1.V1Manager", "join"),
    ("wharf.runtime.cgroups.v2.V2Manager", "join"),
    ("wharf.runtime.rootfs", "prepare_root"),
    ("wharf.runtime.rootfs", "mount_all"),
    ("wharf.runtime.rootfs", "create_devices"),
    ("wharf.runtime.rootfs", "pivot"),
    ("wharf.runtime.rootfs", "finish_root"),
    ("wharf.runtime.init", "find_executable"),
    ("wharf.runtime.state.StateStore", "save"),
    ("wharf.runtime.operations", "start"),
    ("wharf.runtime.init", "_wait_for_start"),
    ("wharf.runtime.init", "become_process"),
    ("wharf.runtime.verbs", "_wait_for"),
    ("wharf.runtime.operations", "destroy"),
    ("wharf.runtime.cgroups.v1.V1Manager", "destroy"),
)

_CHILD = """
import os, sys, time
spawned = float(sys.argv[1]); log_path = sys.argv[2]; src = sys.argv[3]
sys.path.insert(0, src)
log = os.open(log_path, os.O_WRONLY | os.O_APPEND)
def mark(what):
    try:
        os.write(log, f"{os.getpid()} {(time.monotonic() - spawned) * 1000:.3f} {what}\\n".encode())
    except OSError:
        pass  # the init closed it
mark("B imports")
import importlib
def wrap(owner, attr):
    original = getattr(owner, attr)
    def wrapped(*args, **kwargs):
        mark("B " + attr)
        try:
            return original(*args, **kwargs)
        finally:
            mark("E " + attr)
    setattr(owner, attr, wrapped)
for path, attr in PHASES:
    parts = path.split(".")
    try:
        if parts[-1][0].isupper():
            owner = getattr(importlib.import_module(".".join(parts[:-1])), parts[-1])
        else:
            owner = importlib.import_module(path)
    except ImportError:
        continue
    wrap(owner, attr)
import wharf.runtime.init as init_module
real_close = init_module._close_fds_from
def close_fds_from(first):
    mark("E become_process")  # what remains is closing fds and execve
    real_close(first)
init_module._close_fds_from = close_fds_from
from wharf.runtime.cli import main
mark("E imports")
mark("B cli.main")
code = main(sys.argv[4:])
mark("E cli.main")
sys.exit(code)
"""


def profile_once(verb: str, bundle: Path, root: Path, log: Path) -> None:
    cid = "prof-" + uuid.uuid4().hex[:8]
    src = str(Path(__file__).resolve().parent.parent / "src")
    script = f"PHASES = {PHASES!r}\n" + _CHILD
    spawned = time.monotonic()
    subprocess.run([sys.executable, "-I", "-S", "-c", script, str(spawned), str(log), src,
                    "--root", str(root), verb, "--bundle", str(bundle), cid],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    if verb == "create":
        subprocess.run([sys.executable, "-I", "-S", "-c",
                        f"import sys;sys.path.insert(0,{src!r});from wharf.runtime.cli import main;"
                        f"main(['--root',{str(root)!r},'delete','--force',{cid!r}])"], check=True)


def _use_config(bundle: Path, config: Path) -> None:
    import json

    spec = json.loads(config.read_text())
    spec["root"] = {"path": str(bundle / "rootfs"), "readonly": False}
    spec["process"]["args"], spec["process"]["terminal"] = ["true"], False
    spec["linux"].pop("cgroupsPath", None)  # each run its own
    for namespace in spec["linux"].get("namespaces", []):
        namespace.pop("path", None)  # the container's network namespace is gone: a fresh one
    spec["mounts"] = [m for m in spec.get("mounts", []) if m.get("type") != "bind" and "rbind" not in m.get("options", []) or
                      Path(m.get("source", "")).exists()]  # its hosts, resolv.conf... went with it
    (bundle / "config.json").write_text(json.dumps(spec))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--verb", default="run", choices=("run", "create"))
    parser.add_argument("--config", type=Path, help="a config.json to profile instead of the minimal one (e.g. "
                        "the bundle of a container wharfd runs: its mounts, seccomp profile, namespaces); "
                        "its root becomes the bench's busybox rootfs and its process `true`")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fixtures.bundle import make_bundle

    with tempfile.TemporaryDirectory(prefix="bench-prof-") as tmp:
        work = Path(tmp)
        bundle = make_bundle(work / "bundle", ["true"])
        if args.config is not None:
            _use_config(bundle, args.config)
        root = Path(f"/run/wp-{uuid.uuid4().hex[:8]}")
        # event label -> list of (start, duration) over the runs
        spans: dict[str, list[tuple[float, float]]] = {}
        order: dict[str, float] = {}
        try:
            for i in range(args.runs + 1):
                log = work / f"log{i}"
                log.write_text("")
                profile_once(args.verb, bundle, root, log)
                if i == 0:
                    continue  # warm-up
                opened: dict[tuple[str, str], float] = {}
                roles: dict[str, str] = {}
                for line in log.read_text().splitlines():
                    pid, at, what = line.split(" ", 2)
                    edge, name = what.split(" ", 1)
                    roles.setdefault(pid, ["parent", "bootstrap", "init"][min(len(roles), 2)])
                    key = (pid, name.split(":")[0])
                    if edge == "B":
                        opened[key] = float(at)
                    elif key in opened:
                        label = f"{roles[pid]:9s} {name}"
                        start = opened.pop(key)
                        spans.setdefault(label, []).append((start, float(at) - start))
                        order[label] = min(order.get(label, 1e9), start)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"wharf-runc {args.verb}: medians over {args.runs} runs, ms from the interpreter's spawn")
    for label in sorted(spans, key=lambda k: order[k]):
        starts = [s for s, _ in spans[label]]
        durations = [d for _, d in spans[label]]
        print(f"  {statistics.median(starts):7.2f} +{statistics.median(durations):6.2f}  {label}")


if __name__ == "__main__":
    main()
