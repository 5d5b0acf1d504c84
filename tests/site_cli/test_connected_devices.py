"""Modbus, OCPP and go-e devices come into the printed Problem from the states of their entities."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.gridnode.site.__main__ import main

NOW = "2026-03-02T09:10:00+00:00"
MODBUS: dict[str, Any] = {
    "subentry_id": "inv",
    "subentry_type": "modbus",
    "title": "Inverter",
    "unique_id": "modbus:192.0.2.1:502:1",
    "data": {
        "link": "tcp", "host": "192.0.2.1", "port": 502, "unit": 1, "profile": "sunspec",
        "roles": ["battery", "inverter"],
        "keys": ["battery_soc", "battery_capacity", "battery_power", "pv_power"],
        "controls": {"battery": [-4000, 4000], "reserve_soc": [5, 100]},
    },
}  # fmt: skip
OCPP: dict[str, Any] = {
    "subentry_id": "cp",
    "subentry_type": "charger",
    "title": "Drive",
    "unique_id": "ocpp:CP_1",
    "data": {
        "protocol": "ocpp", "charge_point_id": "CP_1", "ocpp_port": 9000, "max_current_a": 16,
        "phases": 3, "ev_capacity_kwh": 77,
    },
}  # fmt: skip
ENTRY: dict[str, Any] = {
    "entry_id": "site1",
    "domain": "gridnode",
    "title": "Home",
    "version": 1,
    "minor_version": 2,
    "data": {"name": "Home", "import_limit_kw": 17, "export_limit_kw": 5, "currency": "EUR",
             "latitude": 50.8, "longitude": 4.4},
    "options": {"slot_minutes": 60, "horizon_hours": 24, "tariff_source": "fixed",
                "import_price": 0.3, "export_price": 0.05},
    "subentries": [MODBUS, OCPP],
}  # fmt: skip
# as Home Assistant exports them: default entity ids, energy in kWh as the entities show it
STATES: dict[str, Any] = {
    "sensor.inverter_battery_state_of_charge": {"state": "62", "attributes": {"unit_of_measurement": "%"}},
    "sensor.inverter_battery_capacity": {"state": "10.2", "attributes": {"unit_of_measurement": "kWh"}},
    "sensor.inverter_battery_power": {"state": "-1200", "attributes": {"unit_of_measurement": "W"}},
    "sensor.drive_charger_state": {"state": "suspended_evse", "attributes": {}},
    "binary_sensor.drive_car_plugged_in": {"state": "on", "attributes": {}},
    "sensor.drive_car_state_of_charge": {"state": "35", "attributes": {"unit_of_measurement": "%"}},
    "select.drive_charge_mode": {"state": "cheapest", "attributes": {}},
    "number.drive_target_state_of_charge": {"state": "80", "attributes": {"unit_of_measurement": "%"}},
    "time.drive_departure_time": {"state": "17:00:00", "attributes": {}},
}  # fmt: skip


def _write(folder: Path, name: str, content: Any) -> str:
    path = folder / name
    path.write_text(json.dumps(content))
    return str(path)


def _problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: Any, states: Any, *extra: str
) -> tuple[dict[str, Any], str]:
    config = _write(tmp_path, "entry.json", entry)
    path = _write(tmp_path, "states.json", states)
    code = main(["problem", "--config", config, "--states", path, "--now", NOW, *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def test_a_modbus_battery_and_an_ocpp_car_are_planned_as_the_house_had_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem, err = _problem(tmp_path, capsys, ENTRY, STATES)
    battery = problem["battery"]
    assert battery["capacity_wh"] == pytest.approx(10_200)
    assert battery["soc_pct"] == 62
    assert battery["max_charge_w"] == battery["max_discharge_w"] == 4000
    (car,) = problem["evs"]
    assert car["id"] == "cp"
    assert (car["capacity_wh"], car["soc_pct"], car["target_soc_pct"]) == (77_000, 35, 80)
    assert (car["max_current_a"], car["phases"]) == (16, 3)
    assert car["departure_slot"] is not None
    assert "left out" not in err


def test_an_exported_entity_registry_finds_renamed_entities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Entities the user renamed are found by unique id through the exported entity registry."""
    renamed = {
        "sensor.garage_battery_soc": STATES["sensor.inverter_battery_state_of_charge"],
        "sensor.garage_battery_size": {"state": "9600", "attributes": {"unit_of_measurement": "Wh"}},
    }  # fmt: skip
    registry = {
        "data": {
            "entities": [
                {"platform": "gridnode", "unique_id": "site1_inv_battery_soc",
                 "entity_id": "sensor.garage_battery_soc"},
                {"platform": "gridnode", "unique_id": "site1_inv_battery_capacity",
                 "entity_id": "sensor.garage_battery_size"},
                {"platform": "other", "unique_id": "x", "entity_id": "sensor.x"},
            ]
        }
    }  # fmt: skip
    path = _write(tmp_path, "core.entity_registry", registry)
    problem, err = _problem(tmp_path, capsys, ENTRY, renamed, "--entity-registry", path)
    assert (problem["battery"]["capacity_wh"], problem["battery"]["soc_pct"]) == (9600, 62)
    # the charger's entities are not among these states: it is left out, and said
    assert problem["evs"] == []
    assert "'Drive' (charger): none of its entities is among the states" in err


def test_a_go_e_charger_and_a_modbus_heat_pump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    goe = {**OCPP, "subentry_id": "goe", "data": {"protocol": "goe", "host": "192.0.2.9",
                                                   "max_current_a": 32, "phases": 1,
                                                   "soc_entity": "sensor.car_soc"}}  # fmt: skip
    pump_entry = {**MODBUS, "subentry_id": "hp", "title": "Pump", "data": {**MODBUS["data"],
            "profile": next(iter(_heat_pump_profiles())), "rated_power_kw": 6.0,
            "tank_volume_l": 180, "tank_min_c": 45, "tank_max_c": 58}}  # fmt: skip
    entry = {**ENTRY, "subentries": [goe, pump_entry]}
    states = {
        **{k: v for k, v in STATES.items() if k.startswith(("binary_sensor.drive", "select.drive"))},
        "sensor.car_soc": {"state": "50", "attributes": {"unit_of_measurement": "%"}},
        "number.drive_energy_to_add": {"state": "20", "attributes": {"unit_of_measurement": "kWh"}},
        "time.drive_departure_time": {"state": "not a time", "attributes": {}},
        "sensor.pump_outdoor_temperature": {"state": "3.5", "attributes": {"unit_of_measurement": "°C"}},
        "sensor.pump_hot_water_temperature": {"state": "48", "attributes": {"unit_of_measurement": "°C"}},
    }  # fmt: skip
    problem, err = _problem(tmp_path, capsys, entry, states)
    (car,) = problem["evs"]
    # the car sensor named in the subentry gives the SoC; its capacity is the 60 kWh default
    assert (car["soc_pct"], car["capacity_wh"], car["phases"]) == (50, 60_000, 1)
    assert car["max_current_a"] == 32
    # the Modbus heat pump is planned from its entities, as a live one is
    (pump,) = problem.get("heat_pumps") or [problem["heat_pump"]]
    assert pump["id"] == "hp"
    # with the power and tank its sub-entry stores, the tank at the temperature its entity shows
    assert pump["max_power_w"] == 6000
    assert pump["tank"]["energy_wh"] == pytest.approx(180 * 1.163 * 38)
    # one added before the flow asked for these: the defaults a live one keeps
    bare = {**pump_entry, "data": {**MODBUS["data"], "profile": pump_entry["data"]["profile"]}}
    problem, _ = _problem(tmp_path, capsys, {**ENTRY, "subentries": [goe, bare]}, states)
    (pump,) = problem.get("heat_pumps") or [problem["heat_pump"]]
    assert (pump["max_power_w"], pump["tank"]) == (3000, None)
    assert "left out" not in err  # (a NIBE tells no room temperature: said, as live)

    del states["sensor.pump_outdoor_temperature"], states["sensor.pump_hot_water_temperature"]
    problem, err = _problem(tmp_path, capsys, entry, states)
    assert "'Pump' (modbus): none of its entities is among the states" in err


def _heat_pump_profiles() -> list[str]:
    from custom_components.gridnode.devices.modbus_roles import HEAT_PUMPS

    return sorted(HEAT_PUMPS)


def test_an_entry_of_an_older_gridnode_prints_the_problem_of_the_upgraded_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migrated first: the same Problem, and devices stored twice are named on stderr."""
    current, _ = _problem(tmp_path, capsys, ENTRY, STATES)
    old = copy.deepcopy(ENTRY)
    old["minor_version"] = 1
    for sub in old["subentries"]:
        del sub["unique_id"]
    old["subentries"].append({**copy.deepcopy(OCPP), "subentry_id": "cp2", "title": "Drive copy"})
    del old["subentries"][-1]["unique_id"]
    migrated, err = _problem(tmp_path, capsys, old, STATES)
    assert migrated["battery"] == current["battery"]
    assert migrated["evs"][0] == current["evs"][0]
    assert 'the same device is set up more than once: "Drive", "Drive copy"' in err

    newer = {**ENTRY, "version": 2}
    config = _write(tmp_path, "newer.json", newer)
    assert main(["problem", "--config", config, "--now", NOW]) == 2
    assert "newer than this GridNode's (1.2)" in capsys.readouterr().err


def test_a_bad_entity_registry_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, "entry.json", ENTRY)
    registry = _write(tmp_path, "reg.json", {"data": {"entities": "x"}})
    assert main(["problem", "--config", config, "--entity-registry", registry]) == 2
    assert "not Home Assistant's core.entity_registry" in capsys.readouterr().err
