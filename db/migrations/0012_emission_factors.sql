-- Emission factors per SMARD generation filter, g CO2(-eq)/kWh (energy.md §3.1/§3.2).
-- Two families; one is used per KPI, never mixed. Edit rows here to replace the defaults.
-- Pumped storage (4070) is deliberately absent: it is stored energy, not generation.
CREATE TABLE IF NOT EXISTS emission_factors (
    family     text    NOT NULL CHECK (family IN ('LIFECYCLE', 'DIRECT')),
    filter     integer NOT NULL,
    fuel       text    NOT NULL,
    g_per_kwh  float8  NOT NULL CHECK (g_per_kwh >= 0),
    PRIMARY KEY (family, filter)
);

INSERT INTO emission_factors (family, filter, fuel, g_per_kwh) VALUES
    -- Lifecycle: IPCC AR5 WGIII Annex III medians; lignite from EM-DE's coal lifecycle value.
    ('LIFECYCLE', 1223, 'lignite', 1120),
    ('LIFECYCLE', 4069, 'hard coal', 820),
    ('LIFECYCLE', 4071, 'natural gas', 490),
    ('LIFECYCLE', 1227, 'other conventional', 700),
    ('LIFECYCLE', 1224, 'nuclear', 12),
    ('LIFECYCLE', 4066, 'biomass', 230),
    ('LIFECYCLE', 1226, 'hydro', 24),
    ('LIFECYCLE', 4067, 'wind onshore', 11),
    ('LIFECYCLE', 1225, 'wind offshore', 12),
    ('LIFECYCLE', 4068, 'photovoltaics', 45),
    ('LIFECYCLE', 1228, 'other renewables', 38),
    -- Direct combustion CO2 (comparable with UBA's annual factor).
    ('DIRECT', 1223, 'lignite', 1100),
    ('DIRECT', 4069, 'hard coal', 850),
    ('DIRECT', 4071, 'natural gas', 400),
    ('DIRECT', 1227, 'other conventional', 575),
    ('DIRECT', 1224, 'nuclear', 0),
    ('DIRECT', 4066, 'biomass', 0),
    ('DIRECT', 1226, 'hydro', 0),
    ('DIRECT', 4067, 'wind onshore', 0),
    ('DIRECT', 1225, 'wind offshore', 0),
    ('DIRECT', 4068, 'photovoltaics', 0),
    ('DIRECT', 1228, 'other renewables', 0)
ON CONFLICT (family, filter) DO NOTHING;
