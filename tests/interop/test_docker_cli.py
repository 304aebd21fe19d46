"""The real docker CLI (unmodified) against wharfd: the walking skeleton's commands."""

import json
import os
import secrets
import time

from tests.fixtures.daemon import WharfDaemon


def _name() -> str:
    return "t" + secrets.token_hex(5)


def test_version_reports_a_negotiated_server(wharf: WharfDaemon) -> None:
    result = wharf.docker("version", "--format", "{{json .}}", check=True)
    version = json.loads(result.stdout)
    assert version["Server"]["ApiVersion"] == "1.51"
    assert version["Server"]["MinAPIVersion"] == "1.24"
    assert version["Server"]["Os"] == "linux"
    # The CLI negotiated down to the lower of its own and the server's newest version.
    assert float(version["Client"]["ApiVersion"]) <= 1.51


def test_info(wharf: WharfDaemon) -> None:
    info = json.loads(wharf.docker("info", "--format", "{{json .}}", check=True).stdout)
    assert info["OSType"] == "linux"
    assert info["Images"] >= 1
    assert "ServerErrors" not in info or not info["ServerErrors"]


def test_images_lists_the_imported_busybox(wharf: WharfDaemon) -> None:
    out = wharf.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=True).stdout
    assert any(line.startswith("busybox:latest ") for line in out.splitlines()), out


def test_run_prints_output_and_removes_the_container(wharf: WharfDaemon) -> None:
    name = _name()
    result = wharf.docker("run", "--rm", "--name", name, "busybox", "echo", "hello from wharf")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from wharf\n"
    assert name not in wharf.docker("ps", "-a", "--format", "{{.Names}}", check=True).stdout.split()


def test_run_keeps_stdout_and_stderr_apart(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_run_exits_with_the_containers_code(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "busybox", "sh", "-c", "exit 3")
    assert result.returncode == 3, result.stderr


def test_run_with_env_workdir_user_and_hostname(wharf: WharfDaemon) -> None:
    result = wharf.docker(
        "run", "--rm", "-e", "GREETING=hi there", "-w", "/tmp", "-u", "nobody", "--hostname", "box1",
        "busybox", "sh", "-c", 'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(hostname)"',
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi there|/tmp|65534:65534|box1\n"


def test_run_user_by_uid_and_gid(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "-u", "33:100", "busybox", "sh", "-c", "echo $(id -u):$(id -g)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "33:100\n"


def test_run_interactive_passes_stdin(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z; echo done",
                          input="line one\nline two\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "LINE ONE\nLINE TWO\ndone\n"


def test_container_is_pid_one_in_its_own_namespaces(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "busybox", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'")
    assert result.returncode == 0, result.stderr
    pid, count = result.stdout.split()
    assert pid == "1"
    assert int(count) <= 3


def test_detached_lifecycle_ps_logs_stop_wait_rm(wharf: WharfDaemon) -> None:
    name = _name()
    run = wharf.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                       "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
    assert run.returncode == 0, run.stderr
    container_id = run.stdout.strip()
    assert len(container_id) == 64

    running = wharf.docker("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}", check=True).stdout
    assert f"{container_id[:12]} {name} Up" in running

    for _ in range(50):
        logs = wharf.docker("logs", name, check=True).stdout
        if "started" in logs:
            break
    assert logs == "started\n"

    stop = wharf.docker("stop", "-t", "5", name)
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.strip() == name

    assert wharf.docker("wait", name, check=True).stdout.strip() == "0"
    assert wharf.docker("logs", name, check=True).stdout == "started\nbye\n"
    exited = wharf.docker("ps", "-a", "--filter", f"name={name}", "--format", "{{.Status}}", check=True).stdout
    assert exited.startswith("Exited (0)")
    assert name not in wharf.docker("ps", "--format", "{{.Names}}", check=True).stdout.split()

    inspect = json.loads(wharf.docker("inspect", name, check=True).stdout)[0]
    assert inspect["Id"] == container_id
    assert inspect["Name"] == f"/{name}"
    assert inspect["State"]["Status"] == "exited"
    assert inspect["State"]["ExitCode"] == 0
    assert inspect["Config"]["Image"] == "busybox"

    assert wharf.docker("rm", name, check=True).stdout.strip() == name
    assert wharf.docker("inspect", name).returncode != 0


def test_kill_reports_the_signal_in_the_exit_code(wharf: WharfDaemon) -> None:
    name = _name()
    wharf.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    kill = wharf.docker("kill", name)
    assert kill.returncode == 0, kill.stderr
    assert wharf.docker("wait", name, check=True).stdout.strip() == "137"
    wharf.docker("rm", name, check=True)


def test_rm_refuses_a_running_container_unless_forced(wharf: WharfDaemon) -> None:
    name = _name()
    wharf.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    refused = wharf.docker("rm", name)
    assert refused.returncode != 0
    assert "container is running" in refused.stderr
    forced = wharf.docker("rm", "-f", name)
    assert forced.returncode == 0, forced.stderr
    assert wharf.docker("inspect", name).returncode != 0


def test_name_conflict(wharf: WharfDaemon) -> None:
    name = _name()
    wharf.docker("create", "--name", name, "busybox", "true", check=True)
    again = wharf.docker("create", "--name", name, "busybox", "true")
    assert again.returncode != 0
    assert "is already in use" in again.stderr
    wharf.docker("rm", name, check=True)


def test_unknown_container_and_image(wharf: WharfDaemon) -> None:
    missing = wharf.docker("inspect", "--type", "container", "no-such-container-here")
    assert missing.returncode != 0
    assert "No such container: no-such-container-here" in missing.stderr
    assert "No such container" in wharf.docker("logs", "no-such-container-here").stderr
    assert "No such container" in wharf.docker("stop", "no-such-container-here").stderr

    # A registry on loopback that is not there: the pull the CLI falls back to fails at once
    # (and no traffic leaves the machine).
    from tests.fixtures.registry import free_port

    missing_image = f"127.0.0.1:{free_port()}/no-such-image-here:v9"
    image = wharf.docker("run", "--rm", missing_image)
    assert image.returncode == 125
    assert f"Unable to find image '{missing_image}' locally" in image.stderr
    assert wharf.ping()


def test_invalid_reference_is_refused_by_the_cli_path(wharf: WharfDaemon) -> None:
    result = wharf.docker("run", "--rm", "Not/A Valid:ref")
    assert result.returncode == 125
    assert "invalid reference format" in result.stderr


def test_container_prune_with_filters_reports_reclaimed_space(wharf: WharfDaemon) -> None:
    tag = _name()
    label = f"prune-test={tag}"
    names = {key: f"{key}-{tag}" for key in ("pruned", "running", "unlabelled", "kept", "young")}
    try:
        wharf.docker("run", "--name", names["pruned"], "--label", label, "--network", "none", "busybox",
                     "dd", "if=/dev/zero", "of=/filled", "bs=1k", "count=64", check=True)  # fmt: skip
        wharf.docker("run", "-d", "--name", names["running"], "--label", label, "--network", "none", "busybox",
                     "sleep", "300", check=True)  # fmt: skip
        wharf.docker("run", "--name", names["unlabelled"], "--network", "none", "busybox", "true", check=True)
        wharf.docker("run", "--name", names["kept"], "--label", label, "--label", "keep=1", "--network", "none",
                     "busybox", "true", check=True)  # fmt: skip
        too_young = wharf.docker("container", "prune", "-f", "--filter", f"label={label}", "--filter", "until=1h",
                                 check=True)  # fmt: skip
        assert "Total reclaimed space: 0B" in too_young.stdout
        pruned = wharf.docker("container", "prune", "-f", "--filter", f"label={label}", "--filter", "label!=keep",
                              check=True)  # fmt: skip
        pruned_id = wharf.docker("inspect", "--format", "{{.Id}}", names["pruned"]).stdout.strip()
        assert pruned_id == ""  # gone
        assert "Total reclaimed space: 0B" not in pruned.stdout
        remaining = wharf.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        assert names["pruned"] not in remaining
        assert {names["running"], names["unlabelled"], names["kept"]} <= set(remaining)
        refused = wharf.docker("container", "prune", "-f", "--filter", "status=exited")
        assert refused.returncode != 0 and "invalid filter 'status'" in refused.stderr
    finally:
        wharf.docker("rm", "-f", *names.values())


def test_ps_size_shows_the_writable_layer_and_the_virtual_size(wharf: WharfDaemon) -> None:
    name = _name()
    try:
        wharf.docker("run", "--name", name, "--network", "none", "busybox",
                     "dd", "if=/dev/zero", "of=/filled", "bs=1k", "count=512", check=True)  # fmt: skip
        listed = wharf.docker("ps", "-a", "--size", "--filter", f"name={name}", "--format", "{{.Size}}", check=True)
        # e.g. "524kB (virtual 2.5MB)": the written 512 KiB, and that plus busybox's layer.
        size, _, virtual = listed.stdout.strip().partition(" (virtual ")
        assert size.endswith("kB") and 520 <= float(size[:-2]) <= 600, listed.stdout
        assert virtual.endswith("MB)"), listed.stdout
    finally:
        wharf.docker("rm", "-f", name)


def test_inspect_graph_driver_data_names_the_overlay_directories(wharf: WharfDaemon) -> None:
    name = _name()
    try:
        wharf.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                     "echo written > /written; sleep 300", check=True)  # fmt: skip
        deadline = time.monotonic() + 10
        data = {}
        while time.monotonic() < deadline:
            data = json.loads(wharf.docker("inspect", "--format", "{{json .GraphDriver.Data}}", name).stdout)
            if os.path.exists(os.path.join(data["UpperDir"], "written")):
                break
            time.sleep(0.1)
        with open(os.path.join(data["UpperDir"], "written")) as written:
            assert written.read() == "written\n"
        assert all(os.path.isdir(lower) for lower in data["LowerDir"].split(":"))
        assert os.path.isdir(data["WorkDir"])
        assert os.path.exists(os.path.join(data["MergedDir"], "bin", "busybox"))
    finally:
        wharf.docker("rm", "-f", name)
