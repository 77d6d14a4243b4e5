-- How energy is computed from a series (energy.md §1): the integration method of POWER
-- series, the longest sample spacing that is still integrated, and the register modulus of
-- METER series. NULL means "use the documented default" (see db/energy.py).
ALTER TABLE series
    ADD COLUMN IF NOT EXISTS integration text
        CHECK (integration IN ('TRAPEZOIDAL', 'LEFT', 'MEAN')),
    ADD COLUMN IF NOT EXISTS max_gap interval CHECK (max_gap > interval '0'),
    ADD COLUMN IF NOT EXISTS meter_modulus float8 CHECK (meter_modulus > 0);
