"""Runs scenarios through EMHASS inside its own venv (Python 3.12, ``emhass`` installed).

Usage: ``python emhass_runner.py IN.json OUT.json``. Not imported by GridNode: the benchmark starts
it with the EMHASS venv's interpreter. For each scenario it times a fresh ``Optimization`` object
(model build + first solve) and re-solves on the same object, and returns EMHASS's grid flows.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pathlib
import statistics
import sys
import tempfile
import time
from typing import Any

import emhass  # type: ignore[import-not-found]
from emhass import utils
from emhass.optimization import Optimization  # type: ignore[import-not-found]
import pandas as pd  # type: ignore[import-untyped]

LOGGER = logging.getLogger("emhass-bench")
LOGGER.setLevel(logging.ERROR)
LOGGER.propagate = False


def base_conf(
    work: pathlib.Path,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    root = pathlib.Path(emhass.__file__).parent
    emhass_conf = {
        "data_path": work,
        "root_path": root,
        "defaults_path": root / "data/config_defaults.json",
        "associations_path": root / "data/associations.csv",
    }
    config = asyncio.run(utils.build_config(emhass_conf, LOGGER, str(emhass_conf["defaults_path"])))
    secrets = {"time_zone": "UTC", "lat": 55.8, "lon": -4.3, "alt": 30}
    params = asyncio.run(utils.build_params(emhass_conf, secrets, config, LOGGER))
    retrieve, optim, plant = utils.get_yaml_parse(params, LOGGER)
    return emhass_conf, retrieve, optim, plant


def configure(
    sc: dict[str, Any], retrieve: dict[str, Any], optim: dict[str, Any], plant: dict[str, Any]
) -> None:
    retrieve["optimization_time_step"] = pd.to_timedelta(sc["slot_minutes"], "minutes")
    optim.update(
        costfun="profit",
        set_use_pv=True,
        set_use_battery=True,
        delta_forecast_daily=pd.Timedelta(hours=sc["hours"]),
        lp_solver="Highs",
        lp_solver_mip_rel_gap=sc["emhass_mip_gap"],
        lp_solver_timeout=60,
        num_threads=1,
        set_nocharge_from_grid=False,
        set_nodischarge_to_grid=True,
        weight_battery_charge=0.0,
        weight_battery_discharge=0.0,
    )
    loads = sc["loads"]
    n = len(loads)
    optim.update(
        number_of_deferrable_loads=n,
        nominal_power_of_deferrable_loads=[ld["power_w"] for ld in loads],
        minimum_power_of_deferrable_loads=[0.0] * n,
        operating_hours_of_each_deferrable_load=[ld["hours"] for ld in loads],
        treat_deferrable_load_as_semi_cont=[False] * n,
        set_deferrable_load_single_constant=[not ld["interruptible"] for ld in loads],
        start_timesteps_of_each_deferrable_load=[0] * n,
        end_timesteps_of_each_deferrable_load=[0] * n,
        set_deferrable_startup_penalty=[0.0] * n,
        set_deferrable_max_startups=[0] * n,
        def_minimum_on_time=[0] * n,
        def_minimum_off_time=[0] * n,
        deferrable_load_max_cost=[0.0] * n,
        cost_forecast_per_deferrable_load=[None] * n,
        is_electric_load=[True] * n,
    )
    b = sc["battery"]
    plant.update(
        maximum_power_from_grid=sc["grid_limit_w"],
        maximum_power_to_grid=sc["grid_limit_w"],
        compute_curtailment=False,
        battery_nominal_energy_capacity=b["capacity_wh"],
        battery_charge_power_max=b["max_charge_w"],
        battery_discharge_power_max=b["max_discharge_w"],
        battery_charge_efficiency=b["charge_efficiency"],
        battery_discharge_efficiency=b["discharge_efficiency"],
        battery_minimum_state_of_charge=b["min_soc_pct"] / 100,
        battery_maximum_state_of_charge=b["max_soc_pct"] / 100,
        battery_target_state_of_charge=b["final_soc_pct"] / 100,
    )


def frame(sc: dict[str, Any], retrieve: dict[str, Any]) -> pd.DataFrame:
    index = pd.date_range(sc["start"], periods=len(sc["load_w"]), freq=f"{sc['slot_minutes']}min")
    data = pd.DataFrame(
        {
            retrieve["sensor_power_photovoltaics"]: sc["pv_w"],
            retrieve["sensor_power_load_no_var_loads"]: sc["load_w"],
            "unit_load_cost": sc["import_price"],
            "unit_prod_price": sc["export_price"],
        },
        index=index,
    )
    data.index.name = "timestamp"
    return data


def run(
    emhass_conf: dict[str, Any], conf: tuple[Any, Any, Any], sc: dict[str, Any]
) -> tuple[Optimization, pd.DataFrame]:
    retrieve, optim, plant = (copy.deepcopy(c) for c in conf)
    configure(sc, retrieve, optim, plant)
    opt = Optimization(
        retrieve,
        optim,
        plant,
        "unit_load_cost",
        "unit_prod_price",
        "profit",
        emhass_conf,
        LOGGER,
        opt_time_delta=sc["hours"],
    )
    return opt, solve(opt, sc, retrieve)


def solve(opt: Optimization, sc: dict[str, Any], retrieve: dict[str, Any]) -> pd.DataFrame:
    data = frame(sc, retrieve)
    pv = data[retrieve["sensor_power_photovoltaics"]]
    load = data[retrieve["sensor_power_load_no_var_loads"]]
    return opt.perform_optimization(
        data,
        pv.values,
        load.values,
        data["unit_load_cost"].values,
        data["unit_prod_price"].values,
        soc_init=sc["battery"]["soc_pct"] / 100,
        soc_final=sc["battery"]["final_soc_pct"] / 100,
        def_total_hours=[ld["hours"] for ld in sc["loads"]],
        def_start_timestep=[0] * len(sc["loads"]),
        def_end_timestep=[0] * len(sc["loads"]),
    )


def main() -> None:
    scenarios = json.loads(pathlib.Path(sys.argv[1]).read_text())
    results = []
    with tempfile.TemporaryDirectory() as work:
        emhass_conf, *conf = base_conf(pathlib.Path(work))
        for sc in scenarios:
            fresh, again = [], []
            res = None
            opt = None
            for _ in range(sc["repeats"]):
                began = time.perf_counter()
                opt, res = run(emhass_conf, (conf[0], conf[1], conf[2]), sc)
                fresh.append((time.perf_counter() - began) * 1000)
            retrieve = copy.deepcopy(conf[0])
            configure(sc, retrieve, copy.deepcopy(conf[1]), copy.deepcopy(conf[2]))
            for _ in range(sc["repeats"]):
                began = time.perf_counter()
                res = solve(opt, sc, retrieve)
                again.append((time.perf_counter() - began) * 1000)
            assert opt is not None
            assert res is not None
            cols = {
                c: [float(v) for v in res[c].fillna(0).values]
                for c in res.columns
                if c.startswith(("P_", "SOC_"))
            }
            results.append(
                {
                    "name": sc["name"],
                    "fresh_ms": statistics.median(fresh),
                    "resolve_ms": statistics.median(again),
                    "status": str(opt.optim_status),
                    "columns": cols,
                }
            )
    pathlib.Path(sys.argv[2]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
