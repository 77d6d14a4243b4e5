from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
async def sites_empty(clean_sites: None) -> None:
    """The shared `clean_db` empties series and samples; sites are this area's table."""
