"""`wharf system bootstrap`: a local busybox image from the host's busybox-static, no registry.

The rootfs is the one tests/fixtures/busybox_image.py describes (deterministic: fixed mtimes and
owners, so the image id is the same wherever the busybox binary is): /bin/busybox, a symlink per
applet, /etc/passwd and /etc/group, /tmp 1777 and the usual mount points. It is imported with
`POST /images/create?fromSrc=-` and `CMD ["sh"]`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

from wharf import errdefs

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

EPOCH = 1_700_000_000

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""

GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""

DIRECTORIES = {
    "bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
    "etc": 0o755, "root": 0o700, "home": 0o755, "tmp": 0o1777, "var": 0o755, "var/www": 0o755,
    "dev": 0o755, "proc": 0o555, "sys": 0o555, "run": 0o755, "mnt": 0o755,
}


def _entry(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    import tarfile

    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def busybox_rootfs_tar(busybox: str) -> bytes:
    """The rootfs tar, in memory (busybox-static is ~2 MB)."""
    import tarfile

    if not os.path.isfile(busybox):
        raise errdefs.NotFound(f"{busybox} is missing: install busybox-static (apt-get install busybox-static)")
    listing = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    applets = sorted(line for line in listing.split() if line and line != "bin/busybox")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in DIRECTORIES.items():
            tar.addfile(_entry(name, tarfile.DIRTYPE, mode))
        with open(busybox, "rb") as handle:
            binary = handle.read()
        info = _entry("bin/busybox", tarfile.REGTYPE, 0o755)
        info.size = len(binary)
        tar.addfile(info, io.BytesIO(binary))
        for applet in applets:
            link = _entry(applet, tarfile.SYMTYPE, 0o777)
            link.linkname = "/bin/busybox"
            tar.addfile(link)
        for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
            data = text.encode()
            info = _entry(name, tarfile.REGTYPE, 0o644)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def bootstrap(client: EngineClient, args: Args) -> int:
    from wharf.cli import progress
    from wharf.cli.run import split_tag

    repo, tag = split_tag(args.args[0] if args.args else "busybox:latest")
    body = busybox_rootfs_tar(args.busybox)
    params = {"fromSrc": "-", "repo": repo, "tag": tag, "changes": ['CMD ["sh"]']}
    progress.show(client.stream_json("POST", "/images/create", params, body=body,
                                     headers={"Content-Type": "application/x-tar"}))
    sys.stderr.write(f"Tagged {repo}:{tag}\n")
    return 0
