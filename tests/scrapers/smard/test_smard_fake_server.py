"""The fake follows docs/smard.md; these tests pin the parts the scraper relies on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer
from tests.scrapers.smard.fixtures import local_ms


@pytest.fixture
async def http(smard_server: FakeSmardServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=smard_server.base_url + "/chart_data") as client:
        yield client


async def test_index_lists_monday_midnights_in_berlin(
    http: httpx.AsyncClient, fake: FakeSmard
) -> None:
    response = await http.get("/4169/DE-LU/index_hour.json")
    assert response.headers["content-type"] == "application/json"
    stamps = response.json()["timestamps"]
    assert stamps[0] == local_ms(date(2025, 3, 17)) == 1742166000000
    assert stamps[-1] == local_ms(date(2025, 11, 3))
    gaps = {(b - a) // 3_600_000 for a, b in zip(stamps, stamps[1:], strict=False)}
    assert gaps == {167, 168, 169}


@pytest.mark.parametrize(
    "path",
    [
        "/4170/DE/index_hour.json",  # filter/region not served
        "/4169/DE-LU/index_minute.json",  # unknown resolution
        "/4169/DE/4169_DE-LU_hour_1742166000000.json",  # region copy mismatch
        "/4169/DE-LU/4196_DE-LU_hour_1742166000000.json",  # filter copy mismatch
        "/4169/DE-LU/4169_DE-LU_hour_1742169600000.json",  # timestamp not in the index
        "/4169/DE-LU/4169_DE-LU_hour_1761516000000",  # no .json
    ],
)
async def test_everything_unknown_is_a_404_with_a_non_json_body(
    http: httpx.AsyncClient, fake: FakeSmard, path: str
) -> None:
    response = await http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


async def test_newest_chunk_has_trailing_nulls_and_the_sunday_chunk_only_monday(
    http: httpx.AsyncClient, fake: FakeSmard
) -> None:
    newest = local_ms(date(2025, 11, 3))
    series = (await http.get(f"/410/DE/410_DE_hour_{newest}.json")).json()["series"]
    published = [v for _, v in series if v is not None]
    assert len(series) == 168 and len(published) == 62
    assert all(v is None for _, v in series[62:])
    fake.publish_until(local_ms(date(2025, 11, 11)))
    sunday = local_ms(date(2025, 11, 10))
    assert (await http.get("/410/DE/index_hour.json")).json()["timestamps"][-1] == sunday
    body = (await http.get(f"/410/DE/410_DE_hour_{sunday}.json")).json()
    assert [v is not None for _, v in body["series"]] == [True] * 24 + [False] * 144


async def test_revisions_change_values_and_created(
    http: httpx.AsyncClient, fake: FakeSmard
) -> None:
    path = f"/4169/DE-LU/4169_DE-LU_quarterhour_{local_ms(date(2025, 6, 2))}.json"
    before = (await http.get(path)).json()
    fake.revise(local_ms(date(2025, 6, 4)), -2.5)
    after = (await http.get(path)).json()
    assert after["meta_data"]["created"] != before["meta_data"]["created"]
    changed = [a[0] for a, b in zip(after["series"], before["series"], strict=True) if a != b]
    assert changed[0] == local_ms(date(2025, 6, 4)) and len(changed) == 5 * 96
