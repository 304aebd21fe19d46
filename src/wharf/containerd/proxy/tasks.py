"""TaskService over gRPC."""

from __future__ import annotations

import json

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

    async def update(
        self, container_id: str, resources: dict[str, object], annotations: dict[str, str] | None = None
    ) -> None:
        request = pb.UpdateTaskRequest(
            container_id=container_id, resources_json=json.dumps(resources).encode(), annotations=annotations or {}
        )
        await call(self._gate, self._stub.Update, request)

    # -- exec -----------------------------------------------------------------------------------

    async def exec(
        self, container_id: str, exec_id: str, process: dict[str, object], stdin: bool = False,
        terminal: bool = False, user: str = "",
    ) -> TaskInfo:
        request = pb.ExecProcessRequest(
            container_id=container_id, exec_id=exec_id, process_json=json.dumps(process),
            stdin=stdin, terminal=terminal, user=user,
        )  # fmt: skip
        return wire.task_from_pb(await call(self._gate, self._stub.Exec, request))

    async def start_exec(self, container_id: str, exec_id: str) -> int:
        return (await call(self._gate, self._stub.StartExec, _exec_id(container_id, exec_id))).pid

    async def get_exec(self, container_id: str, exec_id: str) -> TaskInfo:
        return wire.task_from_pb(await call(self._gate, self._stub.GetExec, _exec_id(container_id, exec_id)))

    async def wait_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        return wire.exit_from_pb(await call(self._gate, self._stub.WaitExec, _exec_id(container_id, exec_id)))

    async def kill_exec(self, container_id: str, exec_id: str, signal: int) -> None:
        request = pb.KillExecRequest(container_id=container_id, exec_id=exec_id, signal=signal)
        await call(self._gate, self._stub.KillExec, request)

    async def delete_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        return wire.exit_from_pb(await call(self._gate, self._stub.DeleteExec, _exec_id(container_id, exec_id)))

    async def resize_exec(self, container_id: str, exec_id: str, width: int, height: int) -> None:
        request = pb.ResizeExecRequest(container_id=container_id, exec_id=exec_id, width=width, height=height)
        await call(self._gate, self._stub.ResizeExec, request)

    async def close_exec_stdin(self, container_id: str, exec_id: str) -> None:
        await call(self._gate, self._stub.CloseExecStdin, _exec_id(container_id, exec_id))


def _exec_id(container_id: str, exec_id: str) -> pb.ExecID:
    return pb.ExecID(container_id=container_id, exec_id=exec_id)
