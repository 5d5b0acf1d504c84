"""A Sungrow SHx hybrid inverter on Modbus TCP, laid out from GridNode's ``sungrow_shx`` profile.

Without a second battery in the house it is the same house's inverter as the SunSpec view, seen
through Sungrow's own register map. With one (the scenario's ``second_battery``) it is that
battery's own inverter, AC-coupled beside the SunSpec hybrid: its SoC, power, capacity and energy
counters are that battery's, it has no PV, and its controls drive only that battery. Input
registers follow the physics (PV, battery, load, grid, SoC, energy counters; the grid frequency
reads 0 while the grid is down), and the holding registers change it:

- ``ems_mode`` 13049: 0 self-consumption, 2 forced; in forced mode ``forced_command`` 13050
  (170 charge, 187 discharge, 204 stop = hold) at ``forced_power`` 13051 W. No revert timer, as on
  the real device: a controller must release it (``ems_mode`` 0) itself.
- ``backup_reserve`` 13099 (%): the battery keeps it on grid.
- ``export_limit_reg`` 13073 (W), in force while ``export_limit_mode`` 13086 is 170 (enabled).
- ``max_charge_power`` 33046 / ``max_discharge_power`` 33047 (10 W steps): power caps.
"""

from __future__ import annotations

from dataclasses import replace

from custom_components.gridnode.drivers.modbus import Table, load_profile
from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from simulator.physics import Battery, BatteryControls, Commands, House

from .image import ProfileImage

PROFILE = "sungrow_shx"
RUNNING_PV = 1 << 0  # running state bits, as the community map reads 12999
RUNNING_CHARGING = 1 << 1
RUNNING_DISCHARGING = 1 << 2
RUNNING_LOAD = 1 << 3
RUNNING_EXPORTING = 1 << 4
RUNNING_IMPORTING = 1 << 5
RUNNING_OFF_GRID = 1 << 6


class SungrowInverter:
    """The register image of a Sungrow SHx, refreshed from the house and read for its controls."""

    def __init__(self, house: House, battery: Battery | None = None) -> None:
        """Lay out the profile's registers and write the device's defaults.

        ``battery`` is the house's second battery when this inverter is its own (else it views
        the house's first battery).
        """
        self.house = house
        self.own = battery  # the second battery this inverter drives, or None
        self.image = ProfileImage(load_profile(PROFILE))
        self.written: set[str] = set()  # holding registers a controller has written
        bat = (battery or house.battery).config
        im = self.image
        im.set("ems_mode", "self_consumption")
        im.set("forced_command", "stop")
        im.set("forced_power", 0)
        im.set("export_limit_reg", house.site.export_limit_w)
        im.set("export_limit_mode", "disabled")
        im.set("backup_reserve", round(bat.reserve_pct))
        im.set("max_charge_power", bat.max_charge_w)
        im.set("max_discharge_power", bat.max_discharge_w)
        im.set("battery_capacity_reg", bat.capacity_wh)
        im.set("battery_soh_reg", 100)
        self.refresh()

    # --- Modbus -----------------------------------------------------------------------------

    def read(self, address: int, count: int) -> list[int] | None:
        """Holding registers (function 3)."""
        return self.image.read(Table.HOLDING, address, count)

    def read_input(self, address: int, count: int) -> list[int] | None:
        """Input registers (function 4)."""
        return self.image.read(Table.INPUT, address, count)

    def writable(self, address: int, count: int) -> bool:
        """Whether a write there could be accepted (values aside)."""
        return self.image.writable(address, count)

    def write(self, address: int, values: list[int]) -> bool:
        """Write holding registers; False (refused) unless writable and within bounds."""
        changed = self.image.write(address, values)
        if changed is None:
            return False
        self.written.update(w.key for w in changed)
        return True

    # --- physics ----------------------------------------------------------------------------

    def commands(self, base: Commands) -> Commands:
        """``base`` with the controls a controller has set on this inverter applied."""
        im = self.image
        bat = (self.own or self.house.battery).config
        changes: dict[str, object] = {}
        if im.get("ems_mode") == "forced":
            command = im.get("forced_command")
            power = float(im.get("forced_power") or 0)
            if command == "charge":
                changes["battery"] = BatteryCommand(mode=BatteryMode.CHARGE, power_w=power)
            elif command == "discharge":
                changes["battery"] = BatteryCommand(mode=BatteryMode.DISCHARGE, power_w=power)
            else:
                changes["battery"] = BatteryCommand(mode=BatteryMode.HOLD)
        if "backup_reserve" in self.written:
            changes["reserve_pct"] = float(im.get("backup_reserve") or 0)
        if im.get("export_limit_mode") == "enabled":
            limit = float(im.get("export_limit_reg") or 0)
            current = base.export_limit_w
            changes["export_limit_w"] = limit if current is None else min(current, limit)
        charge_cap = float(im.get("max_charge_power") or 0)
        if charge_cap < bat.max_charge_w:
            changes["battery_charge_cap_w"] = charge_cap
        discharge_cap = float(im.get("max_discharge_power") or 0)
        if discharge_cap < bat.max_discharge_w:
            changes["battery_discharge_cap_w"] = discharge_cap
        if self.own is not None:
            return _for_second(base, changes)
        return replace(base, **changes)  # type: ignore[arg-type]

    def refresh(self) -> None:
        """Write the house's latest state into the input registers."""
        house = self.house
        r = house.last
        m = house.meters
        im = self.image
        pv = r.pv_w if r else 0.0
        batt = r.battery_w if r else 0.0
        battery = house.battery
        if self.own is not None:  # its own AC-coupled battery, no PV
            pv, batt, battery = 0.0, (r.second_battery_w if r else 0.0), self.own
        grid = r.grid_w if r else 0.0
        up = r.grid_up if r else house.grid.is_up(house.now_s)
        blackout = r.blackout if r else False
        load = r.served_w if r else 0.0
        im.set("inverter_temperature", 35.0)
        im.set("pv_power_reg", round(pv))
        im.set("phase_a_voltage", 0.0 if blackout else 230.0)
        im.set("battery_power_reg", round(batt))
        im.set("grid_frequency_reg", 50.0 if up else 0.0)
        im.set("load_power_reg", round(load))
        im.set("export_power", round(grid))
        im.set("battery_soc_reg", round(battery.soc_pct, 1))
        own = self.own is not None
        im.set("pv_energy_total", 0.0 if own else m.pv_wh)
        im.set("battery_discharge_total", battery.discharged_wh if own else m.battery_discharge_wh)
        im.set("battery_charge_total", battery.charged_wh if own else m.battery_charge_wh)
        im.set("grid_import_total", m.grid_import_wh)
        im.set("grid_export_total", m.grid_export_wh)
        state = 0
        state |= RUNNING_PV if pv > 0 else 0
        state |= RUNNING_CHARGING if batt < 0 else 0
        state |= RUNNING_DISCHARGING if batt > 0 else 0
        state |= RUNNING_LOAD if load > 0 else 0
        state |= RUNNING_EXPORTING if grid < 0 else 0
        state |= RUNNING_IMPORTING if grid > 0 else 0
        state |= 0 if up else RUNNING_OFF_GRID
        im.set("running_state", state)


def _for_second(base: Commands, changes: dict[str, object]) -> Commands:
    """The battery controls in ``changes`` applied to the second battery; export stays the site's."""
    controls = BatteryControls(
        battery=changes.get("battery", base.second.battery),  # type: ignore[arg-type]
        charge_cap_w=changes.get("battery_charge_cap_w"),  # type: ignore[arg-type]
        discharge_cap_w=changes.get("battery_discharge_cap_w"),  # type: ignore[arg-type]
        reserve_pct=changes.get("reserve_pct"),  # type: ignore[arg-type]
    )
    export = changes.get("export_limit_w", base.export_limit_w)
    return replace(base, second=controls, export_limit_w=export)  # type: ignore[arg-type]
