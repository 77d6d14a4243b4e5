-- A site groups series by role and carries its time zone and tariff (energy.md §2).
-- Roles reference series by key, so a site can be declared before its series exist.
CREATE TABLE IF NOT EXISTS sites (
    id                    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                   text NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 200),
    name                  text NOT NULL,
    timezone              text NOT NULL DEFAULT 'UTC',
    pv_key                text,
    load_key              text,
    grid_import_key       text,
    grid_export_key       text,
    grid_key              text,   -- signed: + import, - export (OpenEMS)
    battery_charge_key    text,
    battery_discharge_key text,
    battery_key           text,   -- signed: + discharge, - charge (OpenEMS)
    pv_peak_kw            float8 CHECK (pv_peak_kw > 0),
    tariff                text NOT NULL CHECK (tariff IN ('FIXED', 'DYNAMIC')),
    import_price_ct       float8,  -- FIXED: gross ct/kWh
    feed_in_ct            float8 NOT NULL DEFAULT 0,
    price_key             text,    -- DYNAMIC: PRICE series in EUR/MWh
    surcharges_ct         float8,  -- DYNAMIC: net ct/kWh on top of spot
    vat                   float8 CHECK (vat >= 0 AND vat < 1),
    co2_region            text NOT NULL DEFAULT 'DE',
    co2_intensity         float8 CHECK (co2_intensity >= 0), -- fixed g/kWh instead of SMARD
    labels                jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (grid_key IS NULL OR (grid_import_key IS NULL AND grid_export_key IS NULL)),
    CHECK (battery_key IS NULL
           OR (battery_charge_key IS NULL AND battery_discharge_key IS NULL)),
    CHECK (tariff <> 'FIXED' OR import_price_ct IS NOT NULL),
    CHECK (tariff <> 'DYNAMIC' OR (price_key IS NOT NULL AND surcharges_ct IS NOT NULL
                                   AND vat IS NOT NULL))
);
