"""What each configuration field changes in the plan: one row per field, checked by
``test_every_field_reaches_the_plan.py`` and shown to users as ``docs/configuration-fields.md``.

A row names a field (where it lives and its key, as ``field_walk`` finds it), a value the test
house starts with and one it changes to, and either the Problem's attributes that must change
(``paths``) or why the Problem does not change (``reason``; the test shows it stays the same).
``house`` sets other fields the row needs (e.g. a generic tariff for its attribute's name).

Regenerate the document after changing a row: run
``test_every_field_reaches_the_plan.py::test_the_document_is_the_table`` with
``GRIDNODE_WRITE_FIELD_DOC=1`` (the labels and forms come from the flows, so it needs them open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration-fields.md"


class _Absent:
    def __repr__(self) -> str:
        return "(not set)"


ABSENT: Any = _Absent()
"""A field left empty: its key is not stored."""


@dataclass(frozen=True, kw_only=True)
class Row:
    """One field and what changing it does to the plan's Problem."""

    location: str
    key: str
    base: Any
    changed: Any
    paths: tuple[str, ...] = ()
    reason: str = ""
    house: dict[str, dict[str, Any]] = field(default_factory=dict)
    bug: str = ""  # a field that should reach the plan and does not (the test is xfail)
    shown_by: str = ""  # another test shows it (``path::test``): it needs what this one lacks

    @property
    def id(self) -> str:
        """The row's test id."""
        return f"{self.location}:{self.key}"


def _p(location: str, key: str, base: Any, changed: Any, *paths: str, **kw: Any) -> Row:
    return Row(location=location, key=key, base=base, changed=changed, paths=paths, **kw)


def _r(location: str, key: str, base: Any, changed: Any, reason: str, **kw: Any) -> Row:
    return Row(location=location, key=key, base=base, changed=changed, reason=reason, **kw)


DISPLAY = "display only: names the site or device in Home Assistant"
KIND_CHOICE = "chooses which fields the next form shows; those fields have their own rows"
DRIVE = "an entity GridNode writes to carry out the plan, not a plan input"
ISLANDING = "islanding only: used while the grid is down, not by the plan"
MODBUS_LINK = (
    "where and how to reach the Modbus device; the plan reads what the device reports "
    "(its readings and limits), not the connection"
)
OCPP_LINK = (
    "how the charge point connects and who may charge; the plan reads the charger's "
    "state once it is connected, not the connection"
)
GOE_LINK = "where the go-eCharger is on the network; the plan reads its state, not the address"
# The chargers of every protocol store their circuit and car in the same keys and read them
# through the same code (devices/chargers.limits_from and the plan's charger settings): the
# entity charger's rows below show each one reaching the plan.
SAME_CIRCUIT = "the same setting as a charger built from entities (see its row): {}"
SAME_BATTERY = (
    "the same setting as a battery built from entities (see its row); "
    "a Modbus battery is planned once connected"
)
ENERGY_METER = "an energy meter for the statistics and cost sensors, not a plan input"
FORECAST_SOLAR = (
    "tests/integration/test_pv_arrays.py::"
    "test_an_exhausted_forecast_solar_quota_estimates_what_it_no_longer_covers_and_says_so"
)  # needs the Forecast.Solar integration loaded
MESH = (
    "tests/integration/mesh/test_mesh.py::"
    "test_sites_exchange_plans_and_keep_the_feeder_under_its_limit"
)  # needs a broker and a peer: the group's congestion price is added to the import price
LOAD_HISTORY = "tests/recorder/test_load_history.py::test_base_load_follows_the_house_history"  # needs the recorder's statistics
PV_CORRECTION = (
    "tests/recorder/test_pv_correction.py::"
    "test_a_forecast_a_quarter_low_is_corrected_from_the_measured_pv"
)  # needs the recorder's statistics of an inverter's PV power and remembered forecasts
SERIAL_LINK = (
    "tests/integration/devices/test_modbus_profile_handles.py::"
    "test_serial_subentries_name_their_port_and_baud_rate"
)
MODBUS_HEAT_PUMP = (
    "tests/integration/devices/test_modbus_appliances.py::"
    "test_a_modbus_heat_pump_is_planned_with_the_power_curve_house_and_tank_entered"
)  # needs a heat pump answering on Modbus
SAME_HEAT_PUMP = (
    "the same setting as a heat pump built from entities (see its row), read by the same code "
    "(devices/heat_pump_settings): {}"
)
OPENADR = (
    "tests/integration/openadr/test_plan_follows_events.py::"
    "test_an_import_limit_event_changes_the_plan_and_goes_when_removed"
)  # a VTN on the loopback publishes an event
OPENADR_AUTH = (
    "tests/integration/openadr/test_plan_follows_events.py::"
    "test_refused_credentials_raise_a_repair_that_goes_when_they_work"
)
OPENADR_PROGRAMS = (
    "tests/integration/openadr/test_openadr_flow.py::"
    "test_a_vtn_is_added_after_a_real_request_and_follows_the_chosen_programs"
)
VTN_A = "https://vtn-a.example.net/openadr3/3.0.1"
VTN_B = "https://vtn-b.example.net/openadr3/3.0.1"
ROOM = "sensor.room"
TANK = "sensor.tank"

ROWS: tuple[Row, ...] = (
    # --- the site (set up, or reconfigure) ---------------------------------------------------
    _r("site", "name", "Home", "House", DISPLAY),
    _p("site", "import_limit_kw", 17.0, 9.0, "grid.import_limit_w"),
    _p("site", "export_limit_kw", 5.0, 3.0, "grid.export_limit_w"),
    _r(
        "site", "currency", "GBP", "EUR", "the unit of prices and costs as shown; no number changes"
    ),
    _p("site", "latitude", 55.83, 40.0, "pv_w"),
    _p("site", "longitude", -4.28, 10.0, "pv_w"),
    # --- options: planning -------------------------------------------------------------------
    _r("options", "plan_interval_min", 5, 10, "how often GridNode plans, not what it plans"),
    _p("options", "slot_minutes", 60, 30, "slot_minutes", "base_load_w", "pv_w", "grid", "*"),
    _p("options", "horizon_hours", 6, 8, "base_load_w", "pv_w", "grid", "*"),
    _p(
        "options",
        "coarse_slot_minutes",
        0,
        60,
        "slot_widths",
        "base_load_w",
        "pv_w",
        "grid",
        "*",
        house={"options": {"slot_minutes": 15, "fine_hours": 1}},
    ),
    _p(
        "options",
        "fine_hours",
        1,
        2,
        "slot_widths",
        "base_load_w",
        "pv_w",
        "grid",
        "*",
        house={"options": {"slot_minutes": 15, "coarse_slot_minutes": 60}},
    ),
    # --- options: tariff ---------------------------------------------------------------------
    _p(
        "options",
        "tariff_source",
        "time_of_use",
        "fixed",
        "grid.import_price",
        "battery.end_value_per_kwh",
    ),
    _p("options", "import_price", 0.30, 0.40, "grid.import_price", "battery.end_value_per_kwh"),
    _p("options", "export_price", 0.05, 0.08, "grid.export_price"),
    _p(
        "options",
        "import_periods",
        "00:00-06:00 = 0.10",
        "04:00-08:00 = 0.05",
        "grid.import_price",
        "battery.end_value_per_kwh",
    ),
    _p("options", "export_periods", ABSENT, "04:00-08:00 = 0.20", "grid.export_price"),
    _r(
        "options",
        "standing_charge_per_day",
        0.5,
        0.8,
        "a fixed daily charge, added to the cost sensors; no plan can change it",
    ),
    _p("options", "capacity_price_per_kw", 0.0, 4.0, "grid.capacity_charges"),
    _p(
        "options",
        "capacity_interval_min",
        15,
        60,
        "grid.capacity_charges",
        house={"options": {"capacity_price_per_kw": 4.0, "slot_minutes": 15}},
    ),
    _p(
        "options",
        "price_entities",
        ["sensor.prices_a"],
        ["sensor.prices_b"],
        "grid.import_price",
        "battery.end_value_per_kwh",
        house={"options": {"tariff_source": "generic"}},
    ),
    _p(
        "options",
        "export_price_entities",
        ABSENT,
        ["sensor.prices_b"],
        "grid.export_price",
        house={"options": {"tariff_source": "generic", "price_entities": ["sensor.prices_a"]}},
    ),
    _p(
        "options",
        "generic_attribute",
        "prices",
        "other_prices",
        "grid.import_price",
        "battery.end_value_per_kwh",
        house={"options": {"tariff_source": "generic", "price_entities": ["sensor.prices_a"]}},
    ),
    _p(
        "options",
        "generic_start_key",
        "start",
        "from",
        "grid.import_price",
        house={"options": {"tariff_source": "generic", "price_entities": ["sensor.prices_a"]}},
    ),
    _p(
        "options",
        "generic_end_key",
        "end",
        "until",
        "grid.import_price",
        house={"options": {"tariff_source": "generic", "price_entities": ["sensor.prices_a"]}},
    ),
    _p(
        "options",
        "generic_price_key",
        "price",
        "cost",
        "grid.import_price",
        "battery.end_value_per_kwh",
        house={"options": {"tariff_source": "generic", "price_entities": ["sensor.prices_a"]}},
    ),
    _p(
        "options",
        "generic_scale",
        1.0,
        0.5,
        "grid.import_price",
        "battery.end_value_per_kwh",
        house={"options": {"tariff_source": "generic", "price_entities": ["sensor.prices_a"]}},
    ),
    _p(
        "options",
        "nordpool_entry",
        "nordpool_a",
        "nordpool_b",
        "grid.import_price",
        "battery.end_value_per_kwh",
        house={"options": {"tariff_source": "nordpool_service", "price_area": "SE3"}},
    ),
    _p(
        "options",
        "price_area",
        "SE3",
        "SE4",
        "grid.import_price",
        "battery.end_value_per_kwh",
        house={"options": {"tariff_source": "nordpool_service", "nordpool_entry": "nordpool_a"}},
    ),
    # --- options: forecasts ------------------------------------------------------------------
    _p("options", "pv_source", "estimate", "none", "pv_w"),
    _p(
        "options",
        "pv_entity",
        "sensor.solcast_a",
        "sensor.solcast_b",
        "pv_w",
        house={"options": {"pv_source": "solcast"}},
    ),
    _p(
        "options",
        "forecast_solar_entry",
        ABSENT,
        "solar_entry",
        "pv_w",
        house={"options": {"pv_source": "forecast_solar"}},
        shown_by=FORECAST_SOLAR,
    ),
    _p("options", "pv_kwp", 4.0, 6.0, "pv_w"),
    _p("options", "pv_tilt", 35, 60, "pv_w"),
    _p("options", "pv_azimuth", 180, 90, "pv_w"),
    _p("options", "weather_entity", ABSENT, "weather.home", "pv_w", "heat_pump"),
    _p("options", "carbon_entity", "sensor.carbon", "sensor.carbon_b", "grid.carbon_intensity"),
    _p("options", "carbon_price_per_kg", 0.05, 0.2, "grid.carbon_price_per_kg"),
    _p("options", "load_entity", ABSENT, "sensor.house_w", "base_load_w", shown_by=LOAD_HISTORY),
    _p("options", "pv_correction", True, False, "pv_w", shown_by=PV_CORRECTION),
    # --- options: islanding ------------------------------------------------------------------
    _r("options", "grid_sensor", ABSENT, "binary_sensor.grid", ISLANDING),
    _p("options", "storm_sensor", ABSENT, "binary_sensor.storm", "battery.reserve_pct"),
    _p(
        "options",
        "storm_reserve",
        80,
        90,
        "battery.reserve_pct",
        house={"options": {"storm_sensor": "binary_sensor.storm"}},
    ),
    _r("options", "restore_stable_s", 120, 300, ISLANDING),
    _r("options", "restore_stagger_s", 10, 30, ISLANDING),
    # --- options: the mesh (its congestion price needs MQTT and a peer on the broker) ---------
    _p("options", "mesh_enabled", False, True, "grid.import_price", shown_by=MESH),
    _p("options", "mesh_group", "street", "lane", "grid.import_price", shown_by=MESH),
    _p("options", "mesh_site_id", "home", "flat_2", "grid.import_price", shown_by=MESH),
    _p("options", "mesh_feeder_limit_kw", 100.0, 10.0, "grid.import_price", shown_by=MESH),
    _p("options", "mesh_secret", ABSENT, "a" * 16, "grid.import_price", shown_by=MESH),
    _p("options", "mesh_topic_root", ABSENT, "town/grid", "grid.import_price", shown_by=MESH),
)

ROWS += (
    # --- a device from entities: battery -----------------------------------------------------
    _r("entity_device/battery", "name", "Battery", "Home battery", DISPLAY),
    _p("entity_device/battery", "role", "battery", "meter", "battery", "base_load_w"),
    _p(
        "entity_device/battery",
        "power_entity",
        "input_number.batt_w",
        "input_number.batt_w_b",
        "base_load_w",
    ),
    _p(
        "entity_device/battery",
        "soc_entity",
        "input_number.soc",
        "input_number.soc_b",
        "battery.soc_pct",
    ),
    _r("entity_device/battery", "energy_in_entity", ABSENT, "sensor.energy_in", ENERGY_METER),
    _r("entity_device/battery", "energy_out_entity", ABSENT, "sensor.energy_out", ENERGY_METER),
    _r(
        "entity_device/battery",
        "reserve_entity",
        "input_number.reserve",
        "input_number.reserve_b",
        DRIVE,
    ),
    _r(
        "entity_device/battery",
        "charge_power_entity",
        "input_number.charge_w",
        "input_number.charge_w_b",
        DRIVE,
    ),
    _r(
        "entity_device/battery",
        "discharge_power_entity",
        "input_number.discharge_w",
        "input_number.discharge_w_b",
        DRIVE,
    ),
    _r("entity_device/battery", "mode_entity", "input_select.mode", "input_select.mode_b", DRIVE),
    _r("entity_device/battery", "mode_auto", "Self use", "Auto", DRIVE),
    _r("entity_device/battery", "mode_hold", "Stop", "Hold", DRIVE),
    _r("entity_device/battery", "mode_charge", "Force charge", "Charge", DRIVE),
    _r("entity_device/battery", "mode_discharge", "Force discharge", "Discharge", DRIVE),
    _p("entity_device/battery", "capacity_kwh", 10, 13.5, "battery.capacity_wh"),
    _p(
        "entity_device/battery",
        "max_power_w",
        5000,
        3000,
        "battery.max_charge_w",
        "battery.max_discharge_w",
    ),
    _p(
        "entity_device/battery",
        "battery_efficiency_pct",
        95,
        90,
        "battery.charge_efficiency",
        "battery.discharge_efficiency",
        "battery.end_value_per_kwh",
    ),
    _p(
        "entity_device/battery",
        "battery_min_soc_pct",
        5,
        20,
        "battery.min_soc_pct",
    ),
    _p(
        "entity_device/battery",
        "battery_wear_cost_per_kwh",
        0.02,
        0.1,
        "battery.degradation_cost_per_kwh",
    ),
    _p("entity_device/battery", "battery_dc_pv_pct", 0, 50, "battery.pv_w"),
    _p(
        "entity_device/battery",
        "battery_inverter_max_kw",
        0,
        4,
        "battery.inverter_max_w",
        house={"entity_device/battery": {"battery_dc_pv_pct": 50}},
    ),
    # --- a device from entities: charger -----------------------------------------------------
    _r("entity_device/charger", "name", "Wallbox", "Garage wallbox", DISPLAY),
    _p("entity_device/charger", "role", "charger", "meter", "evs", "base_load_w"),
    _p("entity_device/charger", "power_entity", "sensor.ev_w", "sensor.ev_w_b", "base_load_w"),
    _r(
        "entity_device/charger",
        "energy_in_entity",
        ABSENT,
        "sensor.ev_energy",
        "meters the session's energy from when it is set (counted toward a kWh goal, and as the "
        "charge of a car that reports no SoC): nothing changes in the plan at once",
        house={"entity_device/charger": {"soc_entity": ABSENT}},
    ),
    _r(
        "entity_device/charger",
        "current_entity",
        "input_number.ev_amps",
        "input_number.ev_amps_b",
        DRIVE,
    ),
    _r(
        "entity_device/charger",
        "switch_entity",
        "input_boolean.ev_enable",
        "input_boolean.ev_enable_b",
        DRIVE,
    ),
    _p(
        "entity_device/charger",
        "plugged_entity",
        "binary_sensor.ev_plug",
        "binary_sensor.ev_unplugged",
        "evs",
    ),
    _p(
        "entity_device/charger",
        "soc_entity",
        "input_number.car_soc",
        "input_number.car_soc_b",
        "evs[0].soc_pct",
    ),
    _p("entity_device/charger", "max_current_a", 16, 32, "evs[0].max_current_a"),
    _p("entity_device/charger", "phases", 1, 3, "evs[0].phases"),
    _p("entity_device/charger", "ev_capacity_kwh", ABSENT, 40, "evs[0].capacity_wh"),
    _p("entity_device/charger", "ev_max_price", ABSENT, 0.2, "evs[0].max_price"),
    # --- a device from entities: inverter and meter ------------------------------------------
    _r("entity_device/inverter", "name", "Inverter", "Roof inverter", DISPLAY),
    _p("entity_device/inverter", "role", "inverter", "meter", "base_load_w"),
    _p("entity_device/inverter", "power_entity", "sensor.pv_w", "sensor.pv_w_b", "base_load_w"),
    _r("entity_device/inverter", "energy_out_entity", ABSENT, "sensor.energy_out", ENERGY_METER),
    _r("entity_device/inverter", "grid_entity", ABSENT, "binary_sensor.grid", ISLANDING),
    _r("entity_device/inverter", "export_limit_entity", ABSENT, "input_number.export_limit", DRIVE),
    _r("entity_device/meter", "name", "Meter", "Grid meter", DISPLAY),
    _p("entity_device/meter", "role", "meter", "inverter", "base_load_w"),
    _p("entity_device/meter", "power_entity", "sensor.grid_w", "sensor.grid_w_b", "base_load_w"),
    _r("entity_device/meter", "energy_in_entity", ABSENT, "sensor.energy_in", ENERGY_METER),
    _r("entity_device/meter", "energy_out_entity", ABSENT, "sensor.energy_out", ENERGY_METER),
    _r("entity_device/meter", "grid_entity", ABSENT, "binary_sensor.grid", ISLANDING),
    # --- heat pump ---------------------------------------------------------------------------
    _r("heat_pump", "name", "Heat pump", "Air source", DISPLAY),
    _p(
        "heat_pump",
        "kind",
        "sg_ready",
        "climate",
        "heat_pump.indoor_temp_c",
        house={"heat_pump": {"climate_entity": "climate.living", "room_temp_entity": ABSENT}},
    ),
    _r("heat_pump", "relay_1", "input_boolean.sg1", "input_boolean.sg3", DRIVE),
    _r("heat_pump", "relay_2", "input_boolean.sg2", "input_boolean.sg4", DRIVE),
    _p(
        "heat_pump",
        "climate_entity",
        "climate.living",
        "climate.bedroom",
        "heat_pump.indoor_temp_c",
        house={"heat_pump": {"kind": "climate", "room_temp_entity": ABSENT}},
    ),
    _p("heat_pump", "rated_power_kw", 3.0, 5.0, "heat_pump.max_power_w"),
    _p("heat_pump", "cop_curve", "air_water", "brine_water", "heat_pump.cop"),
    _p("heat_pump", "room_temp_entity", "sensor.room", "sensor.room_b", "heat_pump.indoor_temp_c"),
    _p("heat_pump", "power_entity", ABSENT, "sensor.hp_w", "base_load_w"),
    _p("heat_pump", "heat_loss_w_per_k", 150, 250, "heat_pump.heat_loss_w_per_k"),
    _p("heat_pump", "thermal_mass_wh_per_k", 5000, 8000, "heat_pump.thermal_capacity_wh_per_k"),
    _p("heat_pump", "comfort_min_c", 19.0, 18.0, "heat_pump.comfort_min_c"),
    _p("heat_pump", "comfort_max_c", 22.0, 23.0, "heat_pump.comfort_max_c"),
    _p("heat_pump", "internal_gains_w", 300, 500, "heat_pump.gains_w"),
    _p("heat_pump", "solar_aperture_m2", 0.0, 4.0, "heat_pump.gains_w"),
    _p(
        "heat_pump",
        "tank_volume_l",
        200,
        300,
        "heat_pump.tank",
        house={"heat_pump": {"tank_temp_entity": TANK}},
    ),
    _p(
        "heat_pump",
        "tank_temp_entity",
        "sensor.tank",
        "sensor.tank_b",
        "heat_pump.tank",
        house={"heat_pump": {"tank_volume_l": 200}},
    ),
    _p(
        "heat_pump",
        "tank_min_c",
        40,
        45,
        "heat_pump.tank",
        house={"heat_pump": {"tank_volume_l": 200, "tank_temp_entity": TANK}},
    ),
    _p(
        "heat_pump",
        "tank_max_c",
        55,
        60,
        "heat_pump.tank",
        house={"heat_pump": {"tank_volume_l": 200, "tank_temp_entity": TANK}},
    ),
    # --- flexible load -----------------------------------------------------------------------
    _r("load", "name", "Dishwasher", "Washer", DISPLAY),
    _r("load", "switch_entity", "input_boolean.dishwasher", "input_boolean.dishwasher_b", DRIVE),
    _r("load", "on_script", ABSENT, "script.load_on", DRIVE),
    _r("load", "off_script", ABSENT, "script.load_off", DRIVE),
    _p("load", "rated_power_w", 1000, 2000, "loads[0].power_w"),
    _p("load", "energy_kwh", 1.0, 2.0, "loads[0].energy_wh"),
    _p(
        "load",
        "run_time_min",
        60,
        120,
        "loads[0].energy_wh",
        house={"load": {"energy_kwh": ABSENT}},
    ),
    _p("load", "earliest_start", ABSENT, "+2h", "loads[0].earliest_slot"),
    _p("load", "deadline", "+5h", "+3h", "loads[0].deadline_slot"),
    _p("load", "interruptible", True, False, "loads[0].interruptible"),
    _r("load", "tier", 3, 1, ISLANDING + " (which loads stay on when islanded)"),
    # --- PV array ----------------------------------------------------------------------------
    _r("pv_array", "name", "Garage", "Shed", DISPLAY),
    _p(
        "pv_array",
        "pv_source",
        "estimate",
        "solcast",
        "pv_w",
        house={"pv_array": {"pv_entity": "sensor.solcast_b"}},
    ),
    _p(
        "pv_array",
        "pv_entity",
        "sensor.solcast_a",
        "sensor.solcast_b",
        "pv_w",
        house={"pv_array": {"pv_source": "solcast"}},
    ),
    _p(
        "pv_array",
        "forecast_solar_entry",
        ABSENT,
        "solar_entry",
        "pv_w",
        house={"pv_array": {"pv_source": "forecast_solar"}},
        shown_by=FORECAST_SOLAR,
    ),
    _p("pv_array", "pv_kwp", 2.0, 3.0, "pv_w"),
    _p("pv_array", "pv_tilt", 30, 50, "pv_w"),
    _p("pv_array", "pv_azimuth", 90, 270, "pv_w"),
    # the VTN's events set prices and limits for their windows (docs/openadr.md)
    _p("openadr", "vtn_url", VTN_A, VTN_B, "grid", shown_by=OPENADR),
    _p("openadr", "client_id", "ven-a", "ven-b", "grid", shown_by=OPENADR_AUTH),
    _p("openadr", "client_secret", "secret-a", "secret-b", "grid", shown_by=OPENADR_AUTH),
    _p("openadr", "token_url", ABSENT, VTN_A + "/token", "grid", shown_by=OPENADR),
    _p("openadr", "poll_seconds", 300, 60, "grid", shown_by=OPENADR),
    _p("openadr", "programs", [], ["p1"], "grid", shown_by=OPENADR_PROGRAMS),
    # --- Flexible compute --------------------------------------------------------------------
    _r("compute", "name", "GPU", "Render box", DISPLAY),
    _p("compute", "max_power_kw", 2.0, 3.0, "optional_loads[0].max_power_w"),
    _p("compute", "value_per_kwh", 0.2, 0.25, "optional_loads[0].value_per_kwh"),
    _p("compute", "carbon_cap_g_per_kwh", ABSENT, 250, "optional_loads[0].carbon_cap_g_per_kwh"),
    _p("compute", "battery_may_feed", False, True, "optional_loads[0].battery_may_feed"),
    _p("compute", "power_entity", ABSENT, "sensor.compute_w", "base_load_w"),
    # --- Modbus device -----------------------------------------------------------------------
    _r("modbus", "name", "Inverter", "Wallbox", DISPLAY),
    # A serial port that is not there is retried for ever, and time is frozen here.
    _r("modbus", "link", "tcp", "serial", MODBUS_LINK, shown_by=SERIAL_LINK),
    _r("modbus", "host", "127.0.0.1", "127.0.0.2", MODBUS_LINK),
    _r("modbus", "port", 1, 2, MODBUS_LINK),
    _r("modbus", "serial_port", ABSENT, "/dev/ttyUSB0", MODBUS_LINK),
    _r("modbus", "unit", 1, 2, MODBUS_LINK),
    _r("modbus", "profile", "sunspec", "solax_gen4", MODBUS_LINK),
    _r("modbus", "max_current_a", 16, 32, SAME_CIRCUIT.format("evs[0].max_current_a")),
    _r("modbus", "phases", 3, 1, SAME_CIRCUIT.format("evs[0].phases")),
    _r("modbus", "ev_capacity_kwh", ABSENT, 40, SAME_CIRCUIT.format("evs[0].capacity_wh")),
    _r("modbus", "ev_max_price", ABSENT, 0.2, SAME_CIRCUIT.format("evs[0].max_price")),
    _r("modbus", "battery_efficiency_pct", 95, 90, SAME_BATTERY),
    _r("modbus", "battery_min_soc_pct", 5, 20, SAME_BATTERY),
    _r("modbus", "battery_wear_cost_per_kwh", 0.02, 0.1, SAME_BATTERY),
    _r("modbus", "battery_dc_pv_pct", 0, 50, SAME_BATTERY),
    _r("modbus", "battery_inverter_max_kw", 0, 4, SAME_BATTERY),
    _p("modbus", "rated_power_kw", 3.0, 6.0, "heat_pump.max_power_w", shown_by=MODBUS_HEAT_PUMP),
    _p(
        "modbus",
        "cop_curve",
        "air_water",
        "brine_water",
        "heat_pump.cop",
        shown_by=MODBUS_HEAT_PUMP,
    ),
    _p(
        "modbus",
        "heat_loss_w_per_k",
        180,
        220,
        "heat_pump.heat_loss_w_per_k",
        shown_by=MODBUS_HEAT_PUMP,
    ),
    _p(
        "modbus",
        "thermal_mass_wh_per_k",
        10000,
        8000,
        "heat_pump.thermal_capacity_wh_per_k",
        shown_by=MODBUS_HEAT_PUMP,
    ),
    _p(
        "modbus",
        "comfort_min_c",
        19.5,
        19.0,
        "heat_pump.comfort_min_c",
        "heat_pump.indoor_temp_c",
        shown_by=MODBUS_HEAT_PUMP,
    ),
    _p(
        "modbus",
        "comfort_max_c",
        23.0,
        22.0,
        "heat_pump.comfort_max_c",
        "heat_pump.indoor_temp_c",
        shown_by=MODBUS_HEAT_PUMP,
    ),
    _p("modbus", "internal_gains_w", 300, 400, "heat_pump.gains_w", shown_by=MODBUS_HEAT_PUMP),
    _r("modbus", "solar_aperture_m2", 0.0, 4.0, SAME_HEAT_PUMP.format("heat_pump.gains_w")),
    _p("modbus", "tank_volume_l", ABSENT, 180, "heat_pump.tank", shown_by=MODBUS_HEAT_PUMP),
    _p("modbus", "tank_min_c", 45, 40, "heat_pump.tank", shown_by=MODBUS_HEAT_PUMP),
    _p("modbus", "tank_max_c", 55, 58, "heat_pump.tank", shown_by=MODBUS_HEAT_PUMP),
    # --- EV charger (OCPP or go-eCharger) ----------------------------------------------------
    _r("charger", "name", "Charger", "Drive", DISPLAY),
    _r(
        "charger",
        "protocol",
        "ocpp",
        "goe",
        KIND_CHOICE + "; a charger is planned once connected",
        house={"charger": {"host": "127.0.0.1:1"}},
    ),
    _r("charger", "charge_point_id", "CP1", "CP2", OCPP_LINK),
    _r("charger", "ocpp_security", "basic_auth", "none", OCPP_LINK),
    _r("charger", "password", "secret-password-1", "secret-password-2", OCPP_LINK),
    _r("charger", "ocpp_host", "127.0.0.1", "0.0.0.0", OCPP_LINK),
    _r("charger", "ocpp_port", 47391, 47392, OCPP_LINK),
    _r("charger", "ocpp_cert_file", ABSENT, "/config/cp.pem", OCPP_LINK),
    _r("charger", "ocpp_key_file", ABSENT, "/config/cp.key", OCPP_LINK),
    _r("charger", "allow_unknown", False, True, OCPP_LINK),
    _r("charger", "ocpp_id_tags", ABSENT, ["TAG1"], OCPP_LINK),
    _r(
        "charger",
        "host",
        "127.0.0.1:1",
        "127.0.0.1:2",
        GOE_LINK,
        house={"charger": {"protocol": "goe"}},
    ),
    _r("charger", "max_current_a", 16, 32, SAME_CIRCUIT.format("evs[0].max_current_a")),
    _r("charger", "phases", 3, 1, SAME_CIRCUIT.format("evs[0].phases")),
    _r(
        "charger",
        "soc_entity",
        ABSENT,
        "input_number.car_soc",
        SAME_CIRCUIT.format("evs[0].soc_pct"),
    ),
    _r("charger", "ev_capacity_kwh", ABSENT, 40, SAME_CIRCUIT.format("evs[0].capacity_wh")),
    _r("charger", "ev_max_price", ABSENT, 0.2, SAME_CIRCUIT.format("evs[0].max_price")),
)


PATH_WORDS: dict[str, str] = {
    "*": "everything the plan covers",
    "slot_minutes": "the length of every slot",
    "slot_widths": "which slots are planned merged into longer ones",
    "base_load_w": "the household load per slot",
    "pv_w": "the solar forecast per slot",
    "grid": "prices and grid limits",
    "grid.import_price": "the import price per slot",
    "grid.export_price": "the export price per slot",
    "grid.import_limit_w": "the grid import limit",
    "grid.export_limit_w": "the grid export limit",
    "grid.carbon_intensity": "the carbon intensity per slot",
    "grid.carbon_price_per_kg": "the price put on carbon",
    "grid.capacity_charges": "the capacity (peak demand) charge",
    "battery": "the battery",
    "battery.soc_pct": "the battery's state of charge",
    "battery.capacity_wh": "the battery's capacity",
    "battery.max_charge_w": "the battery's charge power",
    "battery.max_discharge_w": "the battery's discharge power",
    "battery.reserve_pct": "the battery reserve kept per slot",
    "battery.end_value_per_kwh": "the value of energy left in the battery",
    "battery.charge_efficiency": "the battery's charging efficiency",
    "battery.discharge_efficiency": "the battery's discharging efficiency",
    "battery.min_soc_pct": "the lowest state of charge the plan uses",
    "battery.degradation_cost_per_kwh": "the battery's wear cost",
    "battery.pv_w": "the PV on the battery's hybrid inverter",
    "battery.inverter_max_w": "the hybrid inverter's limit",
    "evs": "whether the car is planned",
    "evs[0].soc_pct": "the car's state of charge",
    "evs[0].target_soc_pct": "the car's goal",
    "evs[0].max_current_a": "the car's charging current",
    "evs[0].phases": "the car's charging phases",
    "evs[0].capacity_wh": "the car's battery size",
    "evs[0].max_price": "the car's price cap",
    "heat_pump": "the heat pump and the house",
    "heat_pump.indoor_temp_c": "the room temperature now",
    "heat_pump.max_power_w": "the heat pump's power",
    "heat_pump.cop": "the heat pump's efficiency (COP) per slot",
    "heat_pump.heat_loss_w_per_k": "the house's heat loss",
    "heat_pump.thermal_capacity_wh_per_k": "the house's thermal mass",
    "heat_pump.comfort_min_c": "the lowest room temperature",
    "heat_pump.comfort_max_c": "the highest room temperature",
    "heat_pump.gains_w": "the solar and internal heat gains per slot",
    "heat_pump.tank": "the hot-water tank",
    "loads[0].power_w": "the load's power",
    "loads[0].energy_wh": "the energy the load needs",
    "loads[0].earliest_slot": "when the load may start",
    "loads[0].deadline_slot": "when the load must be done",
    "loads[0].interruptible": "whether the load may pause",
    "optional_loads[0].max_power_w": "the compute's most power",
    "optional_loads[0].value_per_kwh": "what a kWh is worth to the compute",
    "optional_loads[0].carbon_cap_g_per_kwh": "the grid carbon above which grid power does not "
    "feed the compute",
    "optional_loads[0].battery_may_feed": "whether the battery may feed the compute",
}


def _translations() -> dict[str, Any]:
    path = ROOT / "custom_components" / "gridnode" / "translations" / "en.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def ui_place(location: str, steps: list[str]) -> tuple[str, str]:
    """The form a field is on as users see it, and the field's label there."""
    en = _translations()
    if location == "site":
        return "Site setup (Reconfigure)", ""
    if location == "options":
        titles = [en["options"]["step"][s]["title"] for s in steps]
        return "Options > " + " / ".join(titles), ""
    kind, _, role = location.partition("/")
    sub = en["config_subentries"][kind]
    place = f"Add device > {sub['entry_type']}"
    if role:
        place += f" ({role})"
    return place + " > " + " / ".join(sub["step"][s]["title"] for s in steps), ""


def label(location: str, key: str, steps: list[str]) -> str:
    """The field's label in English, as the form shows it."""
    en = _translations()
    if location == "site":
        return str(en["config"]["step"]["user"]["data"][key])
    if location == "options":
        return str(en["options"]["step"][steps[0]]["data"][key])
    kind = location.partition("/")[0]
    return str(en["config_subentries"][kind]["step"][steps[0]]["data"][key])


def effect(row: Row) -> str:
    """What changing the field changes in the plan, in words."""
    if row.bug:
        return f"Should change {', '.join(PATH_WORDS.get(p, p) for p in row.paths)}; does not yet."
    if row.paths:
        words = [PATH_WORDS.get(p, p) for p in row.paths if p != "*"]
        text = ", ".join(words)
        return text[0].upper() + text[1:] + (", and with it the rest" if "*" in row.paths else "")
    return "Nothing: " + row.reason


def render_markdown(steps: dict[tuple[str, str], list[str]]) -> str:
    """The document: one table of every field, from the rows (``steps``: each field's forms)."""
    lines = [
        "# What each setting changes in the plan",
        "",
        "Every field of GridNode's setup, options and devices, and what changing it changes in",
        "the problem the optimiser solves. `tests/integration/test_every_field_reaches_the_plan.py`",
        "changes each field in a running Home Assistant and checks this table; a field that",
        "changes nothing in the plan says why.",
        "",
        "Each device is set up once. What makes a device the same device is stored as its",
        "sub-entry's unique id: a Modbus device's host and port (or serial port) and unit id, an",
        "OCPP charger's charge point id, a go-eCharger's host, a device from entities' power sensor,",
        "a heat pump's thermostat or water heater (or its two SG-Ready relays, in either order) and",
        "a flexible load's switch (or its start and stop scripts). Adding or reconfiguring a device",
        'onto one already set up stops with "This device is already set up." A site stored by an',
        "older GridNode gets these ids when it is updated; devices it already holds twice are all",
        "kept, and a repair issue names them so you can remove the extra ones.",
        "",
        "| Field | Where | Key | What it changes in the plan |",
        "| --- | --- | --- | --- |",
    ]
    for row in ROWS:
        where = steps[(row.location, row.key)]
        place, _ = ui_place(row.location, where)
        name = label(row.location, row.key, where)
        paths = f" (`{'`, `'.join(row.paths)}`)" if row.paths else ""
        lines.append(f"| {name} | {place} | `{row.key}` | {effect(row)}{paths} |")
    return "\n".join(lines) + "\n"
