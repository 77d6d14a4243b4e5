"""Forecasts of site and market series (docs/forecasting.md)."""
