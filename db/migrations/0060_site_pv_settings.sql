-- PV system settings of a site, for clear-sky profiles (docs/forecasting.md, docs/scenarios.md).
-- The DC nameplate stays in pv_peak_kw (kWp). Azimuth in degrees clockwise from north
-- (180 = south, pvlib's convention), tilt in degrees from horizontal.
ALTER TABLE sites
    ADD COLUMN IF NOT EXISTS latitude  float8 CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN IF NOT EXISTS longitude float8 CHECK (longitude BETWEEN -180 AND 180),
    ADD COLUMN IF NOT EXISTS tilt      float8 CHECK (tilt BETWEEN 0 AND 90),
    ADD COLUMN IF NOT EXISTS azimuth   float8 CHECK (azimuth >= 0 AND azimuth < 360);
