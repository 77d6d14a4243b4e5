"""SMARD scraper sidecar: fetches smard.de chart data and pushes it to the gateway over GraphQL."""

from scrapers.smard.client import SmardClient
from scrapers.smard.publish import GatewayClient
from scrapers.smard.settings import Settings, load_settings
from scrapers.smard.sync import RunSummary, Syncer

__all__ = ["GatewayClient", "RunSummary", "Settings", "SmardClient", "Syncer", "load_settings"]
