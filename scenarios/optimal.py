"""COST_OPTIMAL: battery dispatch as a linear program solved with HiGHS (docs/scenarios.md).

Per step t, with Δt the step length in hours:

    minimise   Σ p_imp,t·I_t − p_exp,t·E_t + ε·(C_t + D_t)
    subject to G_t + I_t + D_t = L_t + E_t + C_t                 (energy balance)
               S_t = S_{t−1} + η_ch·C_t − D_t/η_dis               (S_{−1} = initial SoC)
               0 ≤ C_t, D_t ≤ P·Δt,  S_min ≤ S_t ≤ S_max,  S_{n−1} ≥ S_{−1}
               I_t, E_t ≥ 0

The battery may charge from the grid. ε (1e-6 EUR/kWh) only breaks ties against pointless
cycling. The cost is convex when p_exp,t ≤ p_imp,t, so an optimum never imports and exports
in the same step; where a negative retail price would make feed-in pay more than import, the
program uses p_exp,t = p_imp,t (no arbitrage through the meter). The solution's grid flows are
re-derived from the balance, so the balance holds to rounding and import and export are never
both positive.
"""

from __future__ import annotations

import highspy
import numpy as np

from scenarios.battery import Array, Battery, Flows
from scenarios.greedy import self_consumption

__all__ = ["CYCLING_PENALTY", "NoOptimum", "cost_optimal"]

CYCLING_PENALTY = 1e-6  # EUR/kWh
_VARS = 5  # per step: import, export, charge, discharge, stored energy


class NoOptimum(RuntimeError):
    """HiGHS ended without an optimal solution (should not happen for valid inputs)."""


def cost_optimal(
    pv: Array,
    load: Array,
    step_hours: float,
    battery: Battery | None,
    import_price: Array,
    feed_in_price: Array | float,
) -> Flows:
    pv = np.asarray(pv, dtype=np.float64)
    load = np.asarray(load, dtype=np.float64)
    if battery is None or battery.capacity_kwh == 0 or len(pv) == 0:
        return self_consumption(pv, load, step_hours, None)  # nothing to dispatch
    n = len(pv)
    p_imp = np.broadcast_to(np.asarray(import_price, dtype=np.float64), (n,))
    p_exp = np.minimum(np.broadcast_to(np.asarray(feed_in_price, dtype=np.float64), (n,)), p_imp)
    eta_ch, eta_dis = battery.charge_efficiency, battery.discharge_efficiency
    limit = battery.power_kw * step_hours
    s0 = battery.initial_kwh

    inf = highspy.kHighsInf
    cost = np.zeros((n, _VARS))
    cost[:, 0], cost[:, 1] = p_imp, -p_exp
    cost[:, 2] = cost[:, 3] = CYCLING_PENALTY
    lower = np.zeros((n, _VARS))
    lower[:, 4] = battery.min_kwh
    lower[-1, 4] = max(battery.min_kwh, s0)  # end with at least the initial energy
    upper = np.full((n, _VARS), inf)
    upper[:, 2] = upper[:, 3] = limit
    upper[:, 4] = battery.max_kwh

    # Rows 0..n-1: balance I - E - C + D = L - G.  Rows n..2n-1: S_t - S_{t-1} - η C + D/η = 0.
    steps = np.arange(n)
    balance, state = steps, n + steps
    rows_per_col = [
        [balance],  # I
        [balance],  # E
        [balance, state],  # C
        [balance, state],  # D
        [state, state + 1],  # S: its own row and (with -1) the next step's
    ]
    values_per_col = [
        [np.ones(n)],
        [-np.ones(n)],
        [-np.ones(n), np.full(n, -eta_ch)],
        [np.ones(n), np.full(n, 1 / eta_dis)],
        [np.ones(n), -np.ones(n)],
    ]
    index = np.full((n, _VARS, 2), -1, dtype=np.int32)
    value = np.zeros((n, _VARS, 2))
    for k in range(_VARS):
        for j, (rows, vals) in enumerate(zip(rows_per_col[k], values_per_col[k], strict=True)):
            index[:, k, j], value[:, k, j] = rows, vals
    index[-1, 4, 1] = -1  # the last SoC has no next step
    present = (index >= 0).reshape(-1, 2)
    counts = present.sum(axis=1)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    flat_index = index.reshape(-1, 2)[present].astype(np.int32)
    flat_value = value.reshape(-1, 2)[present]

    net_demand = load - pv
    row_lower = np.concatenate([net_demand, np.zeros(n)])
    row_lower[n] = s0
    row_upper = row_lower.copy()

    lp = highspy.HighsLp()
    lp.num_col_ = n * _VARS
    lp.num_row_ = 2 * n
    lp.col_cost_ = cost.ravel()
    lp.col_lower_ = lower.ravel()
    lp.col_upper_ = upper.ravel()
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = flat_index
    lp.a_matrix_.value_ = flat_value
    solver = highspy.Highs()  # type: ignore[no-untyped-call]
    solver.setOptionValue("output_flag", False)
    solver.passModel(lp)
    solver.run()
    status = solver.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise NoOptimum(f"HiGHS ended with {solver.modelStatusToString(status)}")
    x = np.asarray(solver.getSolution().col_value).reshape(n, _VARS)
    charge = np.clip(x[:, 2], 0.0, limit)
    discharge = np.clip(x[:, 3], 0.0, limit)
    # The grid follows from the balance: exact to rounding, never import and export at once.
    soc = s0 + np.cumsum(eta_ch * charge - discharge / eta_dis)
    grid = net_demand + charge - discharge
    return Flows(
        pv=pv,
        load=load,
        grid_import=np.maximum(grid, 0.0),
        grid_export=np.maximum(-grid, 0.0),
        charge=charge,
        discharge=discharge,
        soc_kwh=soc,
        initial_kwh=s0,
    )
