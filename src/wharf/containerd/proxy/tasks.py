"""TaskService over gRPC."""

from __future__ import annotations

from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.tasks import CreateTaskOptions, ExitStatus, TaskInfo
from wharf.containerd.proxy.rpc import CallGate, call


class TaskServiceProxy:
    def __init__(self, stub: pb_grpc.TasksStub, gate: CallGate) -> None:
        self._stub = stub
        self._gate = gate

    async def create(self, container_id: str, options: CreateTaskOptions) -> TaskInfo:
        request = pb.CreateTaskRequest(
            container_id=container_id,
            stdin=options.stdin,
            terminal=options.terminal,
            log_max_size=options.log_max_size,
            log_max_files=options.log_max_files,
        )
        if options.log_path is not None:
            request.log_path = options.log_path
        return wire.task_from_pb(await call(self._gate, self._stub.Create, request))

    async def start(self, container_id: str) -> int:
        return (await call(self._gate, self._stub.Start, pb.TaskID(container_id=container_id))).pid

    async def get(self, container_id: str) -> TaskInfo:
        return wire.task_from_pb(await call(self._gate, self._stub.Get, pb.TaskID(container_id=container_id)))

    async def list(self) -> list[TaskInfo]:
        return [wire.task_from_pb(t) for t in (await call(self._gate, self._stub.List, pb.Empty())).tasks]

    async def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        await call(self._gate, self._stub.Kill, pb.KillTaskRequest(container_id=container_id, signal=signal, all=all))

    async def wait(self, container_id: str) -> ExitStatus:
        return wire.exit_from_pb(await call(self._gate, self._stub.Wait, pb.TaskID(container_id=container_id)))

    async def delete(self, container_id: str) -> ExitStatus:
        return wire.exit_from_pb(await call(self._gate, self._stub.Delete, pb.TaskID(container_id=container_id)))

    async def close_stdin(self, container_id: str) -> None:
        await call(self._gate, self._stub.CloseStdin, pb.TaskID(container_id=container_id))

    async def resize_pty(self, container_id: str, width: int, height: int) -> None:
        await call(self._gate, self._stub.ResizePty, pb.ResizePtyRequest(container_id=container_id, width=width, height=height))

    async def pause(self, container_id: str) -> None:
        await call(self._gate, self._stub.Pause, pb.TaskID(container_id=container_id))

    async def resume(self, container_id: str) -> None:
        await call(self._gate, self._stub.Resume, pb.TaskID(container_id=container_id))

    async def pids(self, container_id: str) -> list[int]:
        return list((await call(self._gate, self._stub.ListPids, pb.TaskID(container_id=container_id))).pids)
