"""What the forecasting and scenario sidecars share: their GraphQL client for the gateway,
its settings, and clear-sky PV profiles. Sidecars reach the gateway over HTTP only."""
