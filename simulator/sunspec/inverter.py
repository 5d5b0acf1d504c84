"""A hybrid inverter speaking SunSpec: measurements from the house, controls into its physics.

Models: 1 common, 103 three-phase inverter, 160 MPPT (two strings), 203 grid meter, 124 storage,
802 battery, 701 DER AC measurement, 704 DER AC controls. Signs: 203 ``W`` is + import / - export,
802 ``W`` is + discharge / - charge (as in ``drivers/model.py``), 701 ``W`` is + generation.

Writable controls and how they revert, as a real device does:
- 124 ``StorCtl_Mod`` (bit 0 charge limit, bit 1 discharge limit), ``InWRte``/``OutWRte`` (% of the
  maximum rate; a negative value forces the opposite direction, so ``InWRte=-50`` with ``OutWRte=50``
  discharges at 50 %), ``InOutWRte_RvrtTms``: after that many seconds without a new write the rates
  return to the device's own self-consumption (``StorCtl_Mod=0``). 0 means no timeout.
- 124 ``MinRsvPct`` and 802 ``SoCRsvMin``: the backup reserve (the battery does not discharge below it
  while on grid; while islanded it does).
- 802 ``CtrlHb``: once a controller writes it, it must write a new value at least every
  ``heartbeat_timeout_s``; if it stops, every remote control (124 rates, 704 limit, 802 ``SetOp``)
  returns to the device default. 802 ``SetOp`` DISCONNECT (2) holds the battery idle.
- 704 ``WSetEna``/``WSetMod`` WATTS/``WSet``: a simplification: the simulator caps the power injected
  into the grid with it, where the standard makes it the inverter's own AC output setpoint (GridNode's
  driver does not use it for that reason); ``WSetRvrtTms`` seconds after the last write it falls back
  to ``WSetEnaRvrt``/``WSetRvrt``.

Timers run on the device's own clock (wall time by default), like firmware would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import time

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode
from simulator.physics import Commands, House

from .layout import RegisterImage

MODELS = [1, 103, 160, 203, 124, 802, 701, 704]
ALRM_GRID_DISCONNECT = 1 << 4
DERMODE_GRID_FOLLOWING = 1 << 0
DERMODE_GRID_FORMING = 1 << 1
DERMODE_PV_CLIPPED = 1 << 2

SCALE_FACTORS: dict[int, dict[str, int]] = {
    103: {
        "A_SF": -1,
        "V_SF": -1,
        "W_SF": 0,
        "Hz_SF": -2,
        "VA_SF": 0,
        "VAr_SF": 0,
        "PF_SF": -2,
        "WH_SF": 0,
        "DCA_SF": -1,
        "DCV_SF": -1,
        "DCW_SF": 0,
        "Tmp_SF": -1,
    },
    160: {"DCA_SF": -1, "DCV_SF": -1, "DCW_SF": 0, "DCWH_SF": 0},
    203: {
        "A_SF": -1,
        "V_SF": -1,
        "Hz_SF": -2,
        "W_SF": 0,
        "VA_SF": 0,
        "VAR_SF": 0,
        "PF_SF": -2,
        "TotWh_SF": 0,
        "TotVAh_SF": 0,
        "TotVArh_SF": 0,
    },
    124: {
        "WChaMax_SF": 0,
        "WChaDisChaGra_SF": 0,
        "VAChaMax_SF": 0,
        "MinRsvPct_SF": -1,
        "ChaState_SF": -1,
        "StorAval_SF": -1,
        "InBatV_SF": -1,
        "InOutWRte_SF": -2,
    },
    802: {
        "AHRtg_SF": 0,
        "WHRtg_SF": 0,
        "WChaDisChaMax_SF": 0,
        "DisChaRte_SF": 0,
        "SoC_SF": -1,
        "DoD_SF": -1,
        "SoH_SF": -1,
        "V_SF": -1,
        "CellV_SF": -3,
        "A_SF": -1,
        "AMax_SF": -1,
        "W_SF": 0,
    },
    701: {
        "A_SF": -1,
        "V_SF": -1,
        "Hz_SF": -2,
        "W_SF": 0,
        "PF_SF": -2,
        "VA_SF": 0,
        "Var_SF": 0,
        "TotWh_SF": 0,
        "TotVarh_SF": 0,
        "Tmp_SF": -1,
    },
    704: {
        "PF_SF": -2,
        "WMaxLimPct_SF": 0,
        "WSet_SF": 0,
        "WSetPct_SF": 0,
        "VarSet_SF": 0,
        "VarSetPct_SF": 0,
    },
}

BATTERY_VOLTAGE = 400.0
GRID_VOLTAGE = 230.0
GRID_HZ = 50.0


class HybridInverter:
    """The register image of the inverter, refreshed from the house and read for its controls."""

    def __init__(
        self,
        house: House,
        *,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_timeout_s: float = 60.0,
        serial: str = "GN-SIM-0001",
    ) -> None:
        """Lay out the registers and write the static values (nameplate, scale factors)."""
        self.house = house
        self.clock = clock
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.image = RegisterImage(MODELS, {160: {"module": 2}})
        self._rate_deadline: float | None = None
        self._wset_deadline: float | None = None
        self._heartbeat_at: float | None = None
        self._started = clock()
        im = self.image
        for mid, sfs in SCALE_FACTORS.items():
            for name, sf in sfs.items():
                im.encode_raw(mid, name, sf)
        im.set_string(1, "Mn", "GridNode")
        im.set_string(1, "Md", "Simulated Hybrid")
        im.set_string(1, "Opt", "sim")
        im.set_string(1, "Vr", "1.0.0")
        im.set_string(1, "SN", serial)
        im.encode_raw(1, "DA", 1)
        bat = house.battery.config
        im.set(124, "WChaMax", bat.max_charge_w)
        im.set(124, "WChaGra", bat.max_charge_w)
        im.set(124, "WDisChaGra", bat.max_discharge_w)
        im.set(124, "MinRsvPct", bat.reserve_pct)
        im.encode_raw(124, "ChaGriSet", 1)
        im.set(802, "WHRtg", bat.capacity_wh)
        im.set(802, "AHRtg", bat.capacity_wh / BATTERY_VOLTAGE)
        im.set(802, "WChaRteMax", bat.max_charge_w)
        im.set(802, "WDisChaRteMax", bat.max_discharge_w)
        im.set(802, "SoCMax", bat.max_soc_pct)
        im.set(802, "SoCMin", bat.min_soc_pct)
        im.set(802, "SocRsvMax", bat.max_soc_pct)
        im.set(802, "SoCRsvMin", bat.reserve_pct)
        im.set(802, "SoH", 100)
        im.encode_raw(802, "Typ", 4)
        im.encode_raw(802, "LocRemCtl", 0)
        im.encode_raw(802, "SetOp", 1)
        im.encode_raw(802, "SetInvState", 3)
        im.encode_raw(802, "CtrlHb", 0)
        im.encode_raw(802, "AlmRst", 0)
        im.encode_raw(701, "ACType", 2)
        self._reset_rates()
        self._reset_wset()
        im.encode_raw(704, "WSetEnaRvrt", 0)
        im.set(704, "WSetRvrt", house.site.export_limit_w)
        im.encode_raw(704, "WSetRvrtTms", 0)
        self.refresh()

    # --- controls ---------------------------------------------------------------------------

    def _reset_rates(self) -> None:
        im = self.image
        im.encode_raw(124, "StorCtl_Mod", 0)
        im.set(124, "InWRte", 100)
        im.set(124, "OutWRte", 100)
        im.encode_raw(124, "InOutWRte_RvrtTms", 0)
        self._rate_deadline = None

    def _reset_wset(self) -> None:
        im = self.image
        im.encode_raw(704, "WSetEna", 0)
        im.encode_raw(704, "WSetMod", 1)
        im.set(704, "WSet", self.house.site.export_limit_w)
        im.encode_raw(704, "WSetRvrtTms", 0)
        im.encode_raw(704, "WSetRvrtRem", 0)
        self._wset_deadline = None

    def tick(self) -> None:
        """Let the device's timers run: revert lapsed setpoints, count its heartbeat."""
        now = self.clock()
        im = self.image
        im.encode_raw(802, "Hb", int(now - self._started) & 0xFFFF)
        if self._rate_deadline is not None and now >= self._rate_deadline:
            self._reset_rates()
        if self._wset_deadline is not None:
            remaining = self._wset_deadline - now
            if remaining <= 0:
                ena = im.decode_raw(704, "WSetEnaRvrt")
                fallback = im.get(704, "WSetRvrt")
                self._reset_wset()
                im.encode_raw(704, "WSetEna", ena if ena in (0, 1) else 0)
                im.set(704, "WSet", fallback)
            else:
                im.encode_raw(704, "WSetRvrtRem", int(remaining + 0.999))
        if self._heartbeat_at is not None and now - self._heartbeat_at > self.heartbeat_timeout_s:
            self._heartbeat_at = None
            self._reset_rates()
            self._reset_wset()
            im.encode_raw(802, "SetOp", 1)

    def writable(self, address: int, count: int) -> bool:
        """Whether ``[address, address + count)`` covers whole writable points only."""
        points = self.image.points_at(address, count)
        end = address + count
        return bool(points) and all(
            p.writable and address <= p.address and p.address + p.size <= end for p in points
        )

    def write(self, address: int, values: list[int]) -> bool:
        """A Modbus write of ``values`` at ``address``; False (refused) unless all writable."""
        im = self.image
        points = im.points_at(address, len(values))
        end = address + len(values)
        if not points or not all(p.writable for p in points):
            return False
        if any(p.address < address or p.address + p.size > end for p in points):
            return False
        old_hb = im.decode_raw(802, "CtrlHb")
        base = address - 40000
        im.registers[base : base + len(values)] = values
        now = self.clock()
        names = {(p.model_id, p.name) for p in points}
        if names & {
            (124, "StorCtl_Mod"),
            (124, "InWRte"),
            (124, "OutWRte"),
            (124, "InOutWRte_RvrtTms"),
        }:
            rvrt = im.decode_raw(124, "InOutWRte_RvrtTms")
            self._rate_deadline = now + rvrt if 0 < rvrt < 0xFFFF else None
        if names & {(704, "WSetEna"), (704, "WSet"), (704, "WSetMod"), (704, "WSetRvrtTms")}:
            rvrt = im.decode_raw(704, "WSetRvrtTms")
            self._wset_deadline = now + rvrt if 0 < rvrt < 0xFFFFFFFF else None
        if (124, "MinRsvPct") in names:
            im.set(802, "SoCRsvMin", im.get(124, "MinRsvPct"))
        if (802, "SoCRsvMin") in names:
            im.set(124, "MinRsvPct", im.get(802, "SoCRsvMin"))
        if (802, "CtrlHb") in names and (
            self._heartbeat_at is None or im.decode_raw(802, "CtrlHb") != old_hb
        ):
            self._heartbeat_at = now
        if (802, "AlmRst") in names:
            im.encode_raw(802, "AlmRst", 0)
        self.tick()
        return True

    def read(self, address: int, count: int) -> list[int] | None:
        """Registers ``[address, address + count)``, or None outside the SunSpec image."""
        self.tick()
        base = address - 40000
        if base < 0 or base + count > len(self.image.registers):
            return None
        return self.image.registers[base : base + count]

    def commands(self, base: Commands) -> Commands:
        """``base`` with this device's battery, reserve and export-limit controls applied."""
        self.tick()
        im = self.image
        bat = self.house.battery.config
        reserve = im.get(124, "MinRsvPct")
        export_limit = base.export_limit_w
        if im.decode_raw(704, "WSetEna") == 1:
            wset = im.get(704, "WSet")
            if im.decode_raw(704, "WSetMod") == 0:
                wset = self.house.site.export_limit_w * im.get(704, "WSetPct") / 100
            export_limit = wset if export_limit is None else min(export_limit, wset)
        if im.decode_raw(802, "SetOp") == 2:
            command = BatteryCommand(mode=BatteryMode.HOLD)
            return replace(base, battery=command, reserve_pct=reserve, export_limit_w=export_limit)
        mod = im.decode_raw(124, "StorCtl_Mod")
        hi = bat.max_charge_w * im.get(124, "InWRte") / 100 if mod & 1 else bat.max_charge_w
        lo = (
            -bat.max_discharge_w * im.get(124, "OutWRte") / 100 if mod & 2 else -bat.max_discharge_w
        )
        charge_cap: float | None = None
        discharge_cap: float | None = None
        if lo > 0:
            # forced charging of at least lo, following a larger surplus up to hi
            least = min(lo, bat.max_charge_w)
            most = min(hi, bat.max_charge_w)
            command = BatteryCommand(
                mode=BatteryMode.CHARGE,
                power_w=least,
                charge_cap_w=most if most > least else None,
            )
        elif hi < 0:
            # forced discharging of at least -hi, following a larger deficit up to -lo
            least = min(-hi, bat.max_discharge_w)
            most = min(-lo, bat.max_discharge_w)
            command = BatteryCommand(
                mode=BatteryMode.DISCHARGE,
                power_w=least,
                discharge_cap_w=most if most > least else None,
            )
        else:
            command = BatteryCommand(mode=BatteryMode.AUTO)
            charge_cap, discharge_cap = max(hi, 0.0), max(-lo, 0.0)
        return replace(
            base,
            battery=command,
            battery_charge_cap_w=charge_cap,
            battery_discharge_cap_w=discharge_cap,
            reserve_pct=reserve,
            export_limit_w=export_limit,
        )

    # --- measurements -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Write the house's latest state into the measurement registers."""
        house = self.house
        r = house.last
        im = self.image
        m = house.meters
        bat = house.battery
        pv = r.pv_w if r else 0.0
        batt = r.battery_w if r else 0.0
        grid = r.grid_w if r else 0.0
        up = r.grid_up if r else house.grid.is_up(house.now_s)
        blackout = r.blackout if r else False
        clipped = bool(r and r.pv_available_w - r.pv_w > 1.0)
        ac = pv + batt
        # 103 inverter
        im.set(103, "W", ac)
        im.set(103, "A", abs(ac) / GRID_VOLTAGE / 3)
        for ph in ("AphA", "AphB", "AphC"):
            im.set(103, ph, abs(ac) / GRID_VOLTAGE / 3)
        for ph in ("PhVphA", "PhVphB", "PhVphC"):
            im.set(103, ph, GRID_VOLTAGE)
        im.set(103, "Hz", GRID_HZ)
        im.set(103, "VA", abs(ac))
        im.set(103, "PF", 1.0)
        im.encode_raw(103, "WH", int(m.pv_wh + m.battery_discharge_wh) & 0xFFFFFFFF)
        im.set(103, "DCW", pv)
        im.set(103, "DCV", 380.0)
        im.set(103, "DCA", pv / 380.0)
        im.set(103, "TmpCab", 35.0)
        im.encode_raw(103, "St", 7 if blackout else 5 if clipped else 4 if pv > 0 else 2)
        im.encode_raw(103, "Evt1", 0)
        # 160 MPPT strings
        for i in range(2):
            im.encode_raw(160, f"module[{i}].ID", i + 1)
            im.set_string(160, f"module[{i}].IDStr", f"String {i + 1}")
            im.set(160, f"module[{i}].DCW", pv / 2)
            im.set(160, f"module[{i}].DCV", 380.0 if pv > 0 else 0.0)
            im.set(160, f"module[{i}].DCA", pv / 2 / 380.0)
            im.encode_raw(160, f"module[{i}].DCWH", int(m.pv_wh / 2) & 0xFFFFFFFF)
            im.encode_raw(160, f"module[{i}].DCSt", 5 if clipped else 4 if pv > 0 else 2)
        # 203 grid meter: reads zero while the grid is down
        im.set(203, "W", grid)
        for ph in ("WphA", "WphB", "WphC"):
            im.set(203, ph, grid / 3)
        im.set(203, "A", abs(grid) / GRID_VOLTAGE)
        for ph in ("AphA", "AphB", "AphC"):
            im.set(203, ph, abs(grid) / GRID_VOLTAGE / 3)
        volts = GRID_VOLTAGE if up else 0.0
        im.set(203, "PhV", volts)
        for ph in ("PhVphA", "PhVphB", "PhVphC"):
            im.set(203, ph, volts)
        im.set(203, "Hz", GRID_HZ if up else 0.0)
        im.encode_raw(203, "TotWhImp", int(m.grid_import_wh) & 0xFFFFFFFF)
        im.encode_raw(203, "TotWhExp", int(m.grid_export_wh) & 0xFFFFFFFF)
        im.encode_raw(203, "Evt", 0)
        # 124 storage
        soc = bat.soc_pct
        reserve = im.get(124, "MinRsvPct")
        im.set(124, "ChaState", soc)
        im.set(
            124,
            "StorAval",
            max(0.0, soc - reserve) / 100 * bat.config.capacity_wh / BATTERY_VOLTAGE,
        )
        im.set(124, "InBatV", BATTERY_VOLTAGE)
        chast = (
            4
            if batt < -1
            else 3
            if batt > 1
            else 5
            if soc >= bat.config.max_soc_pct - 0.05
            else 2
            if soc <= bat.config.min_soc_pct + 0.05
            else 6
        )
        im.encode_raw(124, "ChaSt", chast)
        # 802 battery
        im.set(802, "SoC", soc)
        im.set(802, "DoD", 100 - soc)
        im.set(802, "W", batt)
        im.set(802, "A", batt / BATTERY_VOLTAGE)
        im.set(802, "V", BATTERY_VOLTAGE)
        im.set(802, "VMax", BATTERY_VOLTAGE * 1.1)
        im.set(802, "VMin", BATTERY_VOLTAGE * 0.85)
        im.set(802, "AChaMax", bat.config.max_charge_w / BATTERY_VOLTAGE)
        im.set(802, "ADisChaMax", bat.config.max_discharge_w / BATTERY_VOLTAGE)
        im.encode_raw(802, "ChaSt", chast)
        im.encode_raw(802, "State", 4 if im.decode_raw(802, "SetOp") == 2 else 3)
        im.encode_raw(802, "NCyc", int(m.battery_discharge_wh / bat.config.capacity_wh))
        im.encode_raw(802, "Evt1", 0)
        im.encode_raw(802, "Evt2", 0)
        # 701 DER measurement: connection state, grid forming, alarm
        im.encode_raw(701, "St", 0 if blackout else 1)
        im.encode_raw(701, "InvSt", 6 if blackout else 4 if clipped else 3)
        im.encode_raw(701, "ConnSt", 1 if up else 0)
        im.encode_raw(701, "Alrm", 0 if up else ALRM_GRID_DISCONNECT)
        mode = DERMODE_GRID_FOLLOWING if up else DERMODE_GRID_FORMING
        im.encode_raw(701, "DERMode", mode | (DERMODE_PV_CLIPPED if clipped else 0))
        im.set(701, "W", ac)
        im.set(701, "VA", abs(ac))
        im.set(701, "PF", 1.0)
        im.set(701, "A", abs(ac) / GRID_VOLTAGE / 3)
        im.set(701, "LNV", 0.0 if blackout else GRID_VOLTAGE)
        im.set(701, "LLV", 0.0 if blackout else GRID_VOLTAGE * 3**0.5)
        im.set(701, "Hz", 0.0 if blackout else GRID_HZ)
        im.encode_raw(701, "TotWhInj", int(m.pv_wh + m.battery_discharge_wh))
        im.encode_raw(701, "TotWhAbs", int(m.battery_charge_wh))
        im.set(701, "TmpCab", 35.0)
        im.set(
            701,
            "ThrotPct",
            100 * (r.pv_w / r.pv_available_w) if r and r.pv_available_w > 0 else 100,
        )
        im.encode_raw(701, "ThrotSrc", 0)
