"""wharf.linux.heap: the heap is trimmed once activity stops, never in the middle of a burst."""

from __future__ import annotations

import asyncio

from wharf.linux import heap


def test_trim_returns_free_memory_without_failing() -> None:
    garbage = [bytes(200_000) for _ in range(10)]
    del garbage
    heap.trim()


def test_the_trim_waits_for_a_quiet_spell() -> None:
    async def scenario() -> None:
        trimmer = heap.QuietTrimmer(quiet=0.2)
        trimmer.activity()
        armed = trimmer._timer
        assert armed is not None
        for _ in range(5):  # a burst: activity keeps coming, the one timer is only pushed back
            await asyncio.sleep(0.1)
            trimmer.activity()
            assert trimmer._timer is not None
        await asyncio.sleep(0.5)
        assert trimmer._timer is None  # fired after the burst: trimmed, nothing left armed
        trimmer.activity()
        assert trimmer._timer is not None
        trimmer.close()
        assert trimmer._timer is None

    asyncio.run(scenario())
