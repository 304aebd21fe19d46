"""Pull and push through a real wharf-containerd (the proxy), against the real registry."""

import json

from tests.fixtures.registry import Registry
from tests.integration.containerd.conftest import SupervisorProcess, run
from wharf import errdefs
from wharf.containerd.core.distribution import PullOutcome, PushOutcome, TransferProgress
from wharf.containerd.proxy import connect


def test_pull_then_unpack_then_push(supervisor: SupervisorProcess, registry: Registry) -> None:
    async def scenario() -> tuple[list, PullOutcome, PushOutcome, str]:
        client = await connect(str(supervisor.address))
        try:
            events = []
            outcome = None
            async for item in client.distribution.pull(f"{registry.address}/library/busybox:latest"):
                if isinstance(item, PullOutcome):
                    outcome = item
                else:
                    events.append(item)
            assert outcome is not None
            config = json.loads(await client.content.read(outcome.config.digest))
            chain_id = await client.unpacker.unpack(outcome.manifest.digest)
            assert chain_id.startswith("sha256:") and config["rootfs"]["diff_ids"]
            pushed = None
            async for item in client.distribution.push(f"{registry.address}/mirror/busybox:v1", outcome.manifest):
                if isinstance(item, PushOutcome):
                    pushed = item
            assert pushed is not None
            return events, outcome, pushed, chain_id
        finally:
            await client.close()

    events, outcome, pushed, _ = run(scenario())
    assert all(isinstance(e, TransferProgress) for e in events)
    assert events[0].status == "Pulling fs layer" and events[-1].status == "Download complete"
    assert (pushed.tag, pushed.digest) == ("v1", outcome.manifest.digest)


def test_pull_errors_cross_the_boundary(supervisor: SupervisorProcess, registry: Registry) -> None:
    async def attempt(reference: str) -> Exception | None:
        client = await connect(str(supervisor.address))
        try:
            async for _ in client.distribution.pull(reference):
                pass
        except errdefs.WharfError as err:
            return err
        finally:
            await client.close()
        return None

    assert isinstance(run(attempt(f"{registry.address}/library/busybox:missing")), errdefs.NotFound)
    assert isinstance(run(attempt("Not A Reference")), errdefs.InvalidArgument)
    assert run(attempt(f"{registry.address}/library/busybox:latest")) is None
