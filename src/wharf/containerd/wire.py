"""Conversions between the core data types and the supervisor API's protobuf messages (both sides)."""

from __future__ import annotations

import json
from typing import Any

from wharf.api import containerd_pb2 as pb
from wharf.containerd.core.containers import Container
from wharf.containerd.core.content import ContentInfo
from wharf.containerd.core.events import Event
from wharf.containerd.core.images import Image
from wharf.containerd.core.snapshots import Mount, SnapshotInfo, SnapshotKind
from wharf.containerd.core.tasks import ExitStatus, TaskInfo, TaskStatus
from wharf.oci.image import Descriptor


def container_to_pb(c: Container) -> pb.Container:
    return pb.Container(
        id=c.id,
        image=c.image,
        runtime=c.runtime,
        spec_json=json.dumps(c.spec),
        snapshot_key=c.snapshot_key,
        labels=c.labels,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def container_from_pb(m: pb.Container) -> Container:
    spec: dict[str, Any] = json.loads(m.spec_json) if m.spec_json else {}
    return Container(
        id=m.id,
        image=m.image,
        runtime=m.runtime,
        spec=spec,
        snapshot_key=m.snapshot_key,
        labels=dict(m.labels),
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def content_info_to_pb(i: ContentInfo) -> pb.ContentInfo:
    return pb.ContentInfo(digest=i.digest, size=i.size, created_at=i.created_at, labels=i.labels)


def content_info_from_pb(m: pb.ContentInfo) -> ContentInfo:
    return ContentInfo(digest=m.digest, size=m.size, created_at=m.created_at, labels=dict(m.labels))


def mounts_to_pb(mounts: list[Mount]) -> pb.MountList:
    return pb.MountList(mounts=[pb.Mount(type=m.type, source=m.source, options=m.options) for m in mounts])


def mounts_from_pb(m: pb.MountList) -> list[Mount]:
    return [Mount(type=x.type, source=x.source, options=list(x.options)) for x in m.mounts]


def snapshot_info_to_pb(i: SnapshotInfo) -> pb.SnapshotInfo:
    return pb.SnapshotInfo(name=i.name, parent=i.parent, kind=i.kind.value, labels=i.labels, created_at=i.created_at)


def snapshot_info_from_pb(m: pb.SnapshotInfo) -> SnapshotInfo:
    return SnapshotInfo(
        name=m.name, parent=m.parent, kind=SnapshotKind(m.kind), labels=dict(m.labels), created_at=m.created_at
    )


def descriptor_to_pb(d: Descriptor) -> pb.Descriptor:
    return pb.Descriptor(
        media_type=d.media_type,
        digest=d.digest,
        size=d.size,
        annotations=d.annotations,
        platform_json=json.dumps(d.platform) if d.platform else "",
    )


def descriptor_from_pb(m: pb.Descriptor) -> Descriptor:
    return Descriptor(
        media_type=m.media_type,
        digest=m.digest,
        size=m.size,
        annotations=dict(m.annotations),
        platform=json.loads(m.platform_json) if m.platform_json else None,
    )


def image_to_pb(i: Image) -> pb.Image:
    return pb.Image(
        name=i.name,
        target=descriptor_to_pb(i.target),
        labels=i.labels,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


def image_from_pb(m: pb.Image) -> Image:
    return Image(
        name=m.name,
        target=descriptor_from_pb(m.target),
        labels=dict(m.labels),
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def exit_to_pb(e: ExitStatus) -> pb.ExitStatus:
    return pb.ExitStatus(code=e.code, exited_at=e.exited_at)


def exit_from_pb(m: pb.ExitStatus) -> ExitStatus:
    return ExitStatus(code=m.code, exited_at=m.exited_at)


def task_to_pb(t: TaskInfo) -> pb.TaskInfo:
    out = pb.TaskInfo(id=t.id, pid=t.pid, status=t.status.value, attach_socket=t.attach_socket)
    if t.exit_status is not None:
        out.exit_status.CopyFrom(exit_to_pb(t.exit_status))
    return out


def task_from_pb(m: pb.TaskInfo) -> TaskInfo:
    try:
        status = TaskStatus(m.status)
    except ValueError:
        status = TaskStatus.UNKNOWN
    return TaskInfo(
        id=m.id,
        pid=m.pid,
        status=status,
        exit_status=exit_from_pb(m.exit_status) if m.HasField("exit_status") else None,
        attach_socket=m.attach_socket,
    )


def event_to_pb(e: Event) -> pb.Event:
    return pb.Event(topic=e.topic, container_id=e.container_id, timestamp=e.timestamp, attributes=e.attributes)


def event_from_pb(m: pb.Event) -> Event:
    return Event(topic=m.topic, container_id=m.container_id, timestamp=m.timestamp, attributes=dict(m.attributes))
