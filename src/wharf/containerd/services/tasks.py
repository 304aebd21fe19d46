"""Tasks service."""

from __future__ import annotations

import grpc

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
