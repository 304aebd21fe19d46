"""Escape regressions: no host-side process uses the container's libraries (CVE-2019-14271), image
VOLUMEs cannot expose host paths through the copy-up (CVE-2022-23648), and the shim/supervisor
sockets cannot be reached from a container on the host network (CVE-2020-15257)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import WharfDaemon
from tests.reliability.conftest import compile_c

EVIL_NSS = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void pwn(void) {
    /* Chrooted into the container, this lands in its rootfs; on the host, on the host's /. */
    int fd = open("CANARY", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "pwned\n", 6); close(fd); }
}
"""

UCONNECT = r"""
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
/* Try to connect to each unix socket given ("@name" = abstract); print CONNECTED or the error. */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        size_t n = strlen(argv[i]);
        strncpy(a.sun_path, argv[i], sizeof a.sun_path - 1);
        if (argv[i][0] == '@') a.sun_path[0] = 0;
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        int r = connect(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + n);
        printf("%s %s\n", argv[i], r == 0 ? "CONNECTED" : strerror(errno));
    }
    return 0;
}
"""


def _name() -> str:
    return "e" + secrets.token_hex(5)


@pytest.fixture
def host_dir() -> Iterator[Path]:
    path = Path(f"/var/tmp/wharf-esc-{secrets.token_hex(4)}")
    path.mkdir()
    (path / "secret").write_text("host secret\n")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _build(daemon: WharfDaemon, context: Path, tag: str) -> None:
    built = daemon.docker("build", "-q", "-t", tag, str(context), timeout=120)
    assert built.returncode == 0, built.stderr + daemon.log()[-3000:]


# ---- CVE-2019-14271 ----------------------------------------------------------------------------

def test_cp_never_loads_the_containers_nss_libraries(wharf: WharfDaemon, tmp_path: Path) -> None:
    canary = f"/wharf-nss-pwned-{secrets.token_hex(4)}"
    context = tmp_path / "ctx"
    for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"):
        (context / "root" / libdir).mkdir(parents=True, exist_ok=True)
    evil = compile_c(tmp_path, "libnss_evil.so", EVIL_NSS.replace("CANARY", canary), "-shared", "-fPIC")
    for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"):
        for lib in ("libnss_files.so.2", "libnss_compat.so.2", "libnss_dns.so.2"):
            shutil.copy(evil, context / "root" / libdir / lib)
    (context / "root" / "etc").mkdir()
    (context / "root" / "etc" / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
    (context / "root" / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nevil:x:4242:4242::/:/bin/sh\n")
    (context / "root" / "etc" / "group").write_text("root:x:0:\nevil:x:4242:\n")
    (context / "Dockerfile").write_text("FROM busybox\nCOPY root/ /\n"
                                        "RUN echo data > /owned && chown 4242:4242 /owned\n")
    tag = f"nss-{secrets.token_hex(3)}:latest"
    _build(wharf, context, tag)
    name = _name()
    wharf.docker("run", "-d", "--network", "none", "--name", name, tag, "sleep", "300", check=True)
    try:
        upload = tmp_path / "upload"
        upload.write_text("in\n")
        os.chown(upload, 4243, 4243)
        out = tmp_path / "out"
        steps = [("cp", f"{name}:/owned", str(out)), ("cp", f"{name}:/etc", str(tmp_path / "etc-out")),
                 ("cp", str(upload), f"{name}:/upload"), ("stop", "-t", "1", name),
                 ("cp", f"{name}:/owned", str(tmp_path / "out2")), ("cp", str(upload), f"{name}:/upload2")]
        for step in steps:
            done = wharf.docker(*step, timeout=60)
            assert done.returncode == 0, (step, done.stderr)
        assert out.read_text() == "data\n"
        assert not Path(canary).exists(), "a host process loaded the container's libnss"
        # Chrooted into the container, the constructor would have written into its rootfs.
        leaked = wharf.docker("cp", f"{name}:{canary}", str(tmp_path / "leak"))
        assert leaked.returncode != 0, "a process chrooted into the container loaded its libnss"
    finally:
        Path(canary).unlink(missing_ok=True)
        wharf.docker("rm", "-f", name)
        wharf.docker("rmi", "-f", tag)


# ---- CVE-2022-23648 ----------------------------------------------------------------------------

def test_image_volumes_cannot_expose_host_paths(wharf: WharfDaemon, host_dir: Path, tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    depth = "../" * 12
    (context / "Dockerfile").write_text(
        "FROM busybox\n"
        f"RUN ln -s {host_dir} /abs && ln -s {depth.rstrip('/')}{host_dir} /rel && mkdir -p /d && "
        f"ln -s {host_dir} /d/nested\n"
        "VOLUME /abs\nVOLUME /rel\nVOLUME /d/nested/sub\n"
        f'VOLUME ["/../../../..{host_dir}"]\n'
    )
    tag = f"vol-{secrets.token_hex(3)}:latest"
    _build(wharf, context, tag)
    name = _name()
    before = sorted(p.name for p in host_dir.iterdir())
    try:
        run = wharf.docker("run", "--name", name, "--network", "none", tag, "sh", "-c",
                           f"cat /abs/secret /rel/secret /d/nested/secret {host_dir}/secret 2>/dev/null;"
                           " touch /abs/planted /rel/planted /d/nested/sub/planted; echo done", timeout=60)
        assert run.returncode == 0, run.stderr + wharf.log()[-3000:]
        assert "host secret" not in run.stdout
        assert "done" in run.stdout
        mounts = json.loads(wharf.docker("inspect", name, check=True).stdout)[0]["Mounts"]
        assert mounts, "the image VOLUMEs were not made into volumes"
        for mount in mounts:
            source = Path(mount["Source"])
            assert not source.is_relative_to(host_dir)
            assert not (source / "secret").exists(), f"host file copied into volume {mount}"
        assert sorted(p.name for p in host_dir.iterdir()) == before, "something was written to the host"
        assert (host_dir / "secret").read_text() == "host secret\n"
    finally:
        wharf.docker("rm", "-fv", name)
        wharf.docker("rmi", "-f", tag)


# ---- CVE-2020-15257 ----------------------------------------------------------------------------

def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _unix_sockets() -> dict[str, str]:
    """inode → path (abstract names start with '@') of the unix sockets in the host's net namespace."""
    found = {}
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8:
            found[fields[6]] = fields[7]
    return found


def test_shim_and_supervisor_sockets_unreachable_from_host_network(wharf: WharfDaemon, tmp_path: Path) -> None:
    uconnect = compile_c(tmp_path, "uconnect", UCONNECT, "-static")
    name = _name()
    wharf.docker("run", "-d", "--network", "host", "--name", name, "busybox", "sleep", "300", check=True)
    try:
        # No wharf process listens on an abstract socket (reachable from any container on the host
        # network); every socket is path-based.
        sockets = _unix_sockets()
        pids = [wharf.process.pid, *wharf.supervisor_pids(), *wharf.shim_pids()] if wharf.process else []
        assert wharf.shim_pids()
        abstract = {sockets[i] for pid in pids for i in _socket_inodes(pid) if sockets.get(i, "").startswith("@")}
        assert not abstract, f"abstract sockets in use: {abstract}"

        shim_sockets = sorted(str(p) for p in Path(wharf.exec_root, "containerd").rglob("*.sock"))
        assert shim_sockets, "no shim sockets found under the exec root"
        supervisor_socket = f"{wharf.exec_root}/containerd.sock"
        # The shims' state dirs (their sockets) are private to root.
        shims_dir = Path(wharf.exec_root, "containerd", "s")
        assert stat.S_IMODE(shims_dir.stat().st_mode) & 0o077 == 0, oct(shims_dir.stat().st_mode)
        for path in [supervisor_socket, *shim_sockets]:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode & 0o007 == 0, f"{path} is reachable by others: {oct(mode)}"

        wharf.docker("cp", str(uconnect), f"{name}:/uconnect", check=True)
        every_abstract = sorted({p for p in _unix_sockets().values() if p.startswith("@")})[:50]
        targets = [supervisor_socket, wharf.socket, *shim_sockets, *every_abstract]
        tried = wharf.docker("exec", name, "/uconnect", *targets, check=True).stdout.splitlines()
        assert len(tried) == len(targets)
        for line in tried:
            path, _, outcome = line.partition(" ")
            if path.startswith("@"):
                assert "wharf" not in path and "shim" not in path, line
                continue
            assert outcome != "CONNECTED", f"container on the host network reached {path}"
    finally:
        wharf.docker("rm", "-f", name)
