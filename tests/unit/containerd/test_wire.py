"""Core types survive the trip through their protobuf messages unchanged."""

from wharf.containerd import wire
from wharf.containerd.core.containers import Container
from wharf.containerd.core.content import ContentInfo
from wharf.containerd.core.events import Event
from wharf.containerd.core.images import Image
from wharf.containerd.core.snapshots import Mount, SnapshotInfo, SnapshotKind
from wharf.containerd.core.tasks import ExitStatus, TaskInfo, TaskStatus
from wharf.oci.image import MEDIA_TYPE_OCI_MANIFEST, Descriptor

DIGEST = "sha256:" + "a" * 64


def test_container() -> None:
    c = Container("c", "busybox", "runc", {"process": {"args": ["sh"]}}, "k", {"a": "b"}, 1, 2)
    assert wire.container_from_pb(wire.container_to_pb(c)) == c


def test_image_with_and_without_platform() -> None:
    for platform in (None, {"os": "linux", "architecture": "amd64"}):
        image = Image("docker.io/library/x:1", Descriptor(MEDIA_TYPE_OCI_MANIFEST, DIGEST, 9, {"k": "v"}, platform), {}, 3, 4)
        assert wire.image_from_pb(wire.image_to_pb(image)) == image


def test_content_snapshot_mounts_event() -> None:
    info = ContentInfo(DIGEST, 5, 6, {"l": "v"})
    assert wire.content_info_from_pb(wire.content_info_to_pb(info)) == info
    snap = SnapshotInfo("n", "p", SnapshotKind.COMMITTED, {"x": "y"}, 7)
    assert wire.snapshot_info_from_pb(wire.snapshot_info_to_pb(snap)) == snap
    mounts = [Mount("overlay", "overlay", ["lowerdir=/a:/b", "upperdir=/c"])]
    assert wire.mounts_from_pb(wire.mounts_to_pb(mounts)) == mounts
    event = Event("/tasks/exit", "c", 8, {"exit_status": "0"})
    assert wire.event_from_pb(wire.event_to_pb(event)) == event


def test_task_exit_status_presence() -> None:
    running = TaskInfo("c", 42, TaskStatus.RUNNING, None, "/s/attach.sock")
    assert wire.task_from_pb(wire.task_to_pb(running)) == running
    exited_with_zero = TaskInfo("c", 42, TaskStatus.STOPPED, ExitStatus(0, 0), "/s/attach.sock")
    assert wire.task_from_pb(wire.task_to_pb(exited_with_zero)) == exited_with_zero
