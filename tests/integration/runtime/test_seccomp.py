"""linux.seccomp: the filter is loaded before the user's process, with the spec's actions and errnos."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from tests.fixtures.bundle import make_bundle, read_spec, write_spec
from tests.integration.runtime.conftest import Runtime, new_id

PROBE = "mkdir /tmp/d 2>&1; chmod 700 /tmp 2>&1; echo still-running; exit 0"


def all_syscall_names() -> list[str]:
    """Every syscall of this architecture, by asking libseccomp for each number's name."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        pytest.skip("libseccomp.so.2 is not installed")
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_char_p
    lib.seccomp_syscall_resolve_num_arch.argtypes = (ctypes.c_uint32, ctypes.c_int)
    names = (lib.seccomp_syscall_resolve_num_arch(0, n) for n in range(1024))
    return sorted({n.decode() for n in names if n})


def bundle_with_seccomp(tmp_path: Path, seccomp: dict) -> Path:
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", PROBE])
    spec = read_spec(bundle)
    spec["linux"]["seccomp"] = seccomp
    write_spec(bundle, spec)
    return bundle


def test_denied_syscalls_fail_with_the_rule_errno(runtime: Runtime, tmp_path: Path) -> None:
    bundle = bundle_with_seccomp(tmp_path, {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        ],
    })
    lines = runtime.run(bundle).stdout.splitlines()
    assert "Operation not permitted" in lines[0]
    assert "Permission denied" in lines[1]
    assert lines[2] == "still-running"


@pytest.mark.parametrize("no_new_privileges", [True, False])
def test_deny_by_default_with_an_allow_list(runtime: Runtime, tmp_path: Path, no_new_privileges: bool) -> None:
    allowed = [name for name in all_syscall_names() if name not in ("mkdir", "mkdirat")]
    bundle = bundle_with_seccomp(tmp_path, {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "syscalls": [
            {"names": allowed, "action": "SCMP_ACT_ALLOW"},
            # Several conditions on one argument: any of them allows the call.
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        ],
    })
    spec = read_spec(bundle)
    # Without no_new_privs the filter goes on while the runtime still has CAP_SYS_ADMIN, before the user switch.
    spec["process"]["noNewPrivileges"] = no_new_privileges
    spec["process"]["user"] = {"uid": 65534, "gid": 65534}
    write_spec(bundle, spec)
    lines = runtime.run(bundle).stdout.splitlines()
    assert "Function not implemented" in lines[0] or "not implemented" in lines[0].lower()
    assert lines[-1] == "still-running"


def test_exec_gets_the_containers_filter(runtime: Runtime, tmp_path: Path) -> None:
    bundle = bundle_with_seccomp(tmp_path, {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    })
    spec = read_spec(bundle)
    spec["process"]["args"] = ["sleep", "1000"]
    write_spec(bundle, spec)
    cid = new_id()
    runtime.ok("run", "--detach", "--bundle", str(bundle), cid)
    result = runtime.call("exec", cid, "mkdir", "/tmp/x")
    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr


# --- wharf-runc's cache of compiled programs -------------------------------------------------------------

def _profile(mkdir_errno: int) -> dict:
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": mkdir_errno}]}


def _cache_entries(runtime: Runtime) -> list[Path]:
    return sorted((runtime.root / "@seccomp-cache").glob("*.bpf"))


def test_a_compiled_program_is_reused_only_for_the_same_rules(wharf_runc: Runtime, tmp_path: Path) -> None:
    eperm = bundle_with_seccomp(tmp_path / "eperm", _profile(1))
    eacces = bundle_with_seccomp(tmp_path / "eacces", _profile(13))
    assert "Operation not permitted" in wharf_runc.run(eperm).stdout
    [entry] = _cache_entries(wharf_runc)
    compiled_at = entry.stat().st_mtime_ns
    # The same rules again: the kept program, the same behaviour, in `run` and in `exec`.
    assert "Operation not permitted" in wharf_runc.run(eperm).stdout
    container_id = new_id()
    sleeper = make_bundle(tmp_path / "sleeper", ["sleep", "30"])
    spec = read_spec(sleeper)
    spec["linux"]["seccomp"] = _profile(1)
    write_spec(sleeper, spec)
    wharf_runc.ok("run", "--detach", "--bundle", str(sleeper), container_id)
    assert "Operation not permitted" in wharf_runc.call("exec", container_id, "mkdir", "/tmp/x").stderr
    assert _cache_entries(wharf_runc) == [entry] and entry.stat().st_mtime_ns == compiled_at
    # Other rules: their own program.
    assert "Permission denied" in wharf_runc.run(eacces).stdout
    assert len(_cache_entries(wharf_runc)) == 2


@pytest.mark.parametrize("damage", ["truncated", "other-key", "other-program"])
def test_a_damaged_cache_entry_is_compiled_again(wharf_runc: Runtime, tmp_path: Path, damage: str) -> None:
    bundle = bundle_with_seccomp(tmp_path, _profile(13))
    assert "Permission denied" in wharf_runc.run(bundle).stdout
    [entry] = _cache_entries(wharf_runc)
    raw = entry.read_bytes()
    key_end = raw.index(b"\0")
    if damage == "truncated":
        entry.write_bytes(raw[:-3])
    elif damage == "other-key":  # another spec's whole entry under this name must never be taken
        assert "Operation not permitted" in wharf_runc.run(bundle_with_seccomp(tmp_path / "other", _profile(1))).stdout
        [other] = [path for path in _cache_entries(wharf_runc) if path != entry]
        entry.write_bytes(other.read_bytes())
    else:  # a damaged program: one instruction, "allow everything", with the old checksum
        entry.write_bytes(raw[:key_end + 1] + b"\x06\x00\x00\x00\x00\x00\xff\x7f" + raw[-4:])
    assert "Permission denied" in wharf_runc.run(bundle).stdout
