"""Tasks service."""

from __future__ import annotations

import json

import grpc

from wharf import errdefs
from wharf.api import containerd_pb2 as pb
from wharf.api import containerd_pb2_grpc as pb_grpc
from wharf.containerd import wire
from wharf.containerd.core.tasks import CreateTaskOptions, TaskService
from wharf.containerd.services.errors import unary


class TasksService(pb_grpc.TasksServicer):
    def __init__(self, tasks: TaskService) -> None:
        self._tasks = tasks

    @unary
    async def Create(self, request: pb.CreateTaskRequest, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        options = CreateTaskOptions(
            stdin=request.stdin,
            terminal=request.terminal,
            log_path=request.log_path if request.HasField("log_path") else None,
            log_max_size=request.log_max_size,
            log_max_files=request.log_max_files or 1,
        )
        return wire.task_to_pb(await self._tasks.create(request.container_id, options))

    @unary
    async def Start(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.StartTaskResponse:
        return pb.StartTaskResponse(pid=await self._tasks.start(request.container_id))

    @unary
    async def Get(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        return wire.task_to_pb(await self._tasks.get(request.container_id))

    @unary
    async def List(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.TaskList:
        return pb.TaskList(tasks=[wire.task_to_pb(t) for t in await self._tasks.list()])

    @unary
    async def Kill(self, request: pb.KillTaskRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.kill(request.container_id, request.signal, request.all)
        return pb.Empty()

    @unary
    async def Wait(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.ExitStatus:
        return wire.exit_to_pb(await self._tasks.wait(request.container_id))

    @unary
    async def Delete(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.ExitStatus:
        return wire.exit_to_pb(await self._tasks.delete(request.container_id))

    @unary
    async def CloseStdin(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.close_stdin(request.container_id)
        return pb.Empty()

    @unary
    async def ResizePty(self, request: pb.ResizePtyRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.resize_pty(request.container_id, request.width, request.height)
        return pb.Empty()

    @unary
    async def Pause(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.pause(request.container_id)
        return pb.Empty()

    @unary
    async def Resume(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.resume(request.container_id)
        return pb.Empty()

    @unary
    async def ListPids(self, request: pb.TaskID, context: grpc.aio.ServicerContext) -> pb.Pids:
        return pb.Pids(pids=await self._tasks.pids(request.container_id))

    @unary
    async def Update(self, request: pb.UpdateTaskRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        try:
            resources = json.loads(request.resources_json or b"{}")
        except ValueError as err:
            raise errdefs.InvalidArgument(f"update {request.container_id}: invalid resources JSON: {err}") from None
        if not isinstance(resources, dict):
            raise errdefs.InvalidArgument(f"update {request.container_id}: the resources must be a JSON object")
        await self._tasks.update(request.container_id, resources, dict(request.annotations))
        return pb.Empty()

    # -- exec -----------------------------------------------------------------------------------

    @unary
    async def Exec(self, request: pb.ExecProcessRequest, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        try:
            process = json.loads(request.process_json)
        except ValueError as err:
            raise errdefs.InvalidArgument(f"exec {request.exec_id}: invalid process JSON: {err}") from None
        if not isinstance(process, dict):
            raise errdefs.InvalidArgument(f"exec {request.exec_id}: the process must be a JSON object")
        info = await self._tasks.exec(
            request.container_id, request.exec_id, process, request.stdin, request.terminal, request.user
        )
        return wire.task_to_pb(info)

    @unary
    async def StartExec(self, request: pb.ExecID, context: grpc.aio.ServicerContext) -> pb.StartTaskResponse:
        return pb.StartTaskResponse(pid=await self._tasks.start_exec(request.container_id, request.exec_id))

    @unary
    async def GetExec(self, request: pb.ExecID, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        return wire.task_to_pb(await self._tasks.get_exec(request.container_id, request.exec_id))

    @unary
    async def WaitExec(self, request: pb.ExecID, context: grpc.aio.ServicerContext) -> pb.ExitStatus:
        return wire.exit_to_pb(await self._tasks.wait_exec(request.container_id, request.exec_id))

    @unary
    async def KillExec(self, request: pb.KillExecRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.kill_exec(request.container_id, request.exec_id, request.signal)
        return pb.Empty()

    @unary
    async def DeleteExec(self, request: pb.ExecID, context: grpc.aio.ServicerContext) -> pb.ExitStatus:
        return wire.exit_to_pb(await self._tasks.delete_exec(request.container_id, request.exec_id))

    @unary
    async def ResizeExec(self, request: pb.ResizeExecRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.resize_exec(request.container_id, request.exec_id, request.width, request.height)
        return pb.Empty()

    @unary
    async def CloseExecStdin(self, request: pb.ExecID, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._tasks.close_exec_stdin(request.container_id, request.exec_id)
        return pb.Empty()
