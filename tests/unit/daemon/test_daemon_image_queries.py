"""Images: history, list filters, prune filters and system df, over the fake supervisor."""

import asyncio
import json
import urllib.parse

from .harness import Harness, run


def _filters(**values: list[str]) -> str:
    return urllib.parse.quote(json.dumps(values))


def test_history_has_dockers_shape() -> None:
    async def scenario(h: Harness) -> None:
        image_id = await h.import_image("busybox:latest")
        status, history, _ = await h.request("GET", "/images/busybox/history")
        assert status == 200 and len(history) == 1
        assert set(history[0]) == {"Id", "Created", "CreatedBy", "Tags", "Size", "Comment"}
        assert history[0]["Id"] == image_id and history[0]["Tags"] == ["busybox:latest"]
        assert history[0]["Comment"] == "Imported from -" and isinstance(history[0]["Created"], int)
        status, _, _ = await h.request("GET", "/images/nosuch/history")
        assert status == 404

    run(scenario)


def test_list_filters() -> None:
    async def scenario(h: Harness) -> None:
        first = await h.import_image("one:1", ("LABEL tier=a",))
        await asyncio.sleep(0.01)
        second = await h.import_image("two:1", ("LABEL tier=b", "LABEL extra=1"))

        async def ids(**filters: list[str]) -> set[str]:
            status, listed, _ = await h.request("GET", f"/images/json?filters={_filters(**filters)}")
            assert status == 200, listed
            return {image["Id"] for image in listed}

        assert await ids(label=["tier"]) == {first, second}
        assert await ids(label=["tier=b"]) == {second}
        assert await ids(**{"label!": ["extra"]}) == {first}
        assert await ids(reference=["one"]) == {first}
        assert await ids(reference=["t*:1"]) == {second}
        assert await ids(since=["one:1"]) == {second}
        assert await ids(before=["two:1"]) == {first}
        assert await ids(dangling=["true"]) == set()
        status, body, _ = await h.request("GET", f"/images/json?filters={_filters(bogus=['1'])}")
        assert status == 400 and body["message"] == "invalid filter 'bogus'"
        status, body, _ = await h.request("GET", f"/images/json?filters={_filters(before=['nosuch'])}")
        assert status == 404

    run(scenario)


def test_prune_filters_and_report() -> None:
    async def scenario(h: Harness) -> None:
        keep = await h.import_image("keep:1", ("LABEL keep=yes",))
        drop = await h.import_image("drop:1", ("LABEL keep=no",))
        status, body, _ = await h.request(
            "POST", f"/images/prune?filters={_filters(dangling=['false'], label=['keep=no'])}")
        assert status == 200
        assert {"Deleted": drop} in body["ImagesDeleted"] and isinstance(body["SpaceReclaimed"], int)
        assert body["SpaceReclaimed"] > 0
        status, body, _ = await h.request("POST", f"/images/prune?filters={_filters(dangling=['false'], until=['1h'])}")
        assert status == 200 and body["ImagesDeleted"] is None  # keep:1 is younger than an hour
        status, body, _ = await h.request("POST", f"/images/prune?filters={_filters(reference=['x'])}")
        assert status == 400
        status, _, _ = await h.request("GET", f"/images/{keep}/json")
        assert status == 200

    run(scenario)


def test_system_df_shape() -> None:
    async def scenario(h: Harness) -> None:
        image_id = await h.import_image("busybox:latest")
        await h.import_image("other:1")
        status, df, _ = await h.request("GET", "/system/df")
        assert status == 200
        assert set(df) == {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
        busybox = next(image for image in df["Images"] if image["Id"] == image_id)
        assert busybox["Containers"] == 0 and busybox["SharedSize"] == busybox["Size"]  # same rootfs layer
        status, df, _ = await h.request("GET", "/system/df?type=volume")
        assert status == 200 and set(df) == {"Volumes"}
        status, body, _ = await h.request("GET", "/system/df?type=nonsense")
        assert status == 400

    run(scenario)
