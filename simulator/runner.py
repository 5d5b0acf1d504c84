"""Keep time for the house and serve it: SunSpec inverter on Modbus, JSON control channel, chargers.

``Simulation`` is what the CLI, the demo and the tests share. Ports on 127.0.0.1: the SunSpec
inverter on ``port_base``, the control channel on ``port_base + 1``, the Sungrow SHx on
``port_base + 2`` (the house's second battery when the scenario has one, else a view of the same
inverter) and the NIBE S heat pump on ``port_base + 3``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
import re
import time
from typing import TYPE_CHECKING, Any

from simulator.modbus_server import ModbusDeviceServer, RegisterDevice
from simulator.physics import Commands, House, SgReady, StepResult
from simulator.scenario import ChargerSpec, Scenario
from simulator.sunspec.inverter import HybridInverter
from simulator.vendor.heat_pump import NibeHeatPump
from simulator.vendor.sungrow import SungrowInverter

if TYPE_CHECKING:
    from simulator.ocpp_common import ChargePointClient

StepListener = Callable[[StepResult], None]
PROTOCOLS = ("ocpp1.6", "ocpp2.0.1")


def make_charge_point(sim: Simulation, charger: ChargerSpec, url: str) -> ChargePointClient:
    """The OCPP client of ``charger``'s protocol, connecting to the central system at ``url``."""
    cid = charger.config.charger_id
    if charger.protocol == "ocpp2.0.1":
        from simulator.ocpp_v201 import Ocpp201Client

        return Ocpp201Client(sim, cid, url)
    if charger.protocol == "ocpp1.6":
        from simulator.ocpp_v16 import Ocpp16Client

        return Ocpp16Client(sim, cid, url)
    raise ValueError(
        f"charger {cid}: unknown protocol {charger.protocol!r}; use one of {PROTOCOLS}"
    )


class Simulation:
    """A scenario's house, stepped in real or accelerated time, with its protocol servers."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float | None = None,
        step_s: float | None = None,
        start_s: float | None = None,
        host: str = "127.0.0.1",
        port_base: int = 5020,
        device_clock: str = "wall",
        heartbeat_timeout_s: float = 60.0,
        central_system: str | None = None,
    ) -> None:
        """Build the house; ``device_clock`` "wall" or "sim" drives the devices' revert timers."""
        self.scenario = scenario
        self.speed = scenario.speed if speed is None else speed
        self.step_s = scenario.step_s if step_s is None else step_s
        self.host = host
        self.port_base = port_base
        self.house: House = scenario.build_house(start_s)
        clock = time.monotonic if device_clock == "wall" else self.sim_time
        self.inverter = HybridInverter(
            self.house, clock=clock, heartbeat_timeout_s=heartbeat_timeout_s
        )
        self.sungrow = SungrowInverter(self.house, self.house.second_battery)
        self.heat_pump = (
            None if self.house.heat_pump is None else NibeHeatPump(self.house, clock=clock)
        )
        self.overrides = Commands()  # heat pump and EV controls set over the control channel
        self.ev_limits_w: dict[str, float] = {}  # set by the charge points' profiles
        self.ev_stopped: set[str] = set()  # chargers whose transaction was stopped remotely
        self.chargers: dict[str, ChargePointClient] = {}
        self.listeners: list[StepListener] = []
        self._servers: list[Any] = []
        self._loop_task: asyncio.Task[None] | None = None
        self.steps = 0
        self.central_system = central_system or scenario.central_system

    def sim_time(self) -> float:
        """The simulated time, UTC epoch seconds."""
        return self.house.now_s

    @property
    def modbus_port(self) -> int:
        """The SunSpec inverter's Modbus TCP port."""
        return self.port_base

    @property
    def control_port(self) -> int:
        """The JSON control channel's port."""
        return self.port_base + 1

    @property
    def sungrow_port(self) -> int:
        """The Sungrow SHx view of the inverter (Modbus TCP)."""
        return self.port_base + 2

    @property
    def heat_pump_port(self) -> int:
        """The NIBE S heat pump (Modbus TCP), when the scenario has a heat pump."""
        return self.port_base + 3

    def addresses(self) -> dict[str, str]:
        """What this simulation serves, by name."""
        out = {
            "sunspec_inverter": f"modbus-tcp://{self.host}:{self.modbus_port} (unit 1, SunSpec at 40000)",
            "control": f"http://{self.host}:{self.control_port}/state",
            "sungrow_inverter": f"modbus-tcp://{self.host}:{self.sungrow_port} (unit 1, profile sungrow_shx"
            + (", second battery)" if self.house.second_battery is not None else ")"),
        }
        if self.heat_pump is not None:
            out["heat_pump"] = (
                f"modbus-tcp://{self.host}:{self.heat_pump_port} (unit 1, profile nibe_s)"
            )
        for charger in self.scenario.chargers:
            cid = charger.config.charger_id
            # a password in the URL (user:password@host) is the charge point's login: never printed
            shown = re.sub(r"//[^/@]*@", "//", self.central_system or "")
            target = f"{shown}/{cid}" if self.central_system else "not connected"
            out[f"charger {cid} ({charger.protocol})"] = target
        return out

    def commands(self) -> Commands:
        """The controls in force now: overrides, charge-point limits, then the inverter's."""
        limits = dict(self.overrides.ev_limits_w)
        limits.update(self.ev_limits_w)
        limits.update(dict.fromkeys(self.ev_stopped, 0.0))
        cmds = replace(self.overrides, ev_limits_w=limits)
        if self.heat_pump is not None:
            cmds = self.heat_pump.commands(cmds)
        # the SunSpec view sets every battery control; the Sungrow view only those written to it
        return self.sungrow.commands(self.inverter.commands(cmds))

    def step(self) -> StepResult:
        """Advance one step of the scenario and refresh every device."""
        cmds = self.commands()
        result = self.house.step(self.step_s, cmds)
        self.inverter.refresh()
        self.sungrow.refresh()
        if self.heat_pump is not None:
            self.heat_pump.refresh(cmds.heat_pump_sg_ready)
        self.steps += 1
        for listener in self.listeners:
            listener(result)
        return result

    def set_heat_pump(self, sg_ready: int | None = None, limit_w: float | None = None) -> None:
        """Set the heat pump's SG-Ready state and/or electrical limit (control channel)."""
        changes: dict[str, Any] = {"heat_pump_limit_w": limit_w}
        if sg_ready is not None:
            changes["heat_pump_sg_ready"] = SgReady(sg_ready)
        self.overrides = replace(self.overrides, **changes)

    def begin_outage(self, duration_s: float, start_s: float | None = None) -> None:
        """Drop the grid now (or at ``start_s``) for ``duration_s`` simulated seconds."""
        start = self.house.now_s if start_s is None else start_s
        self.house.grid.begin_outage(start, duration_s)

    def restore_grid(self) -> None:
        """End any outage in progress."""
        self.house.grid.restore(self.house.now_s)

    async def start(self, *, run_clock: bool = True) -> None:
        """Start the servers, and the clock unless ``run_clock`` is False (tests step by hand)."""
        from simulator.control import ControlServer

        devices: list[tuple[RegisterDevice, int]] = [
            (self.inverter, self.modbus_port),
            (self.sungrow, self.sungrow_port),
        ]
        if self.heat_pump is not None:
            devices.append((self.heat_pump, self.heat_pump_port))
        for device, port in devices:
            modbus = ModbusDeviceServer(device, self.host, port)
            await modbus.start()
            self._servers.append(modbus)
        control = ControlServer(self, self.host, self.control_port)
        await control.start()
        self._servers.append(control)
        if self.central_system:
            for charger in self.scenario.chargers:
                client = make_charge_point(self, charger, self.central_system)
                await client.start()
                self.chargers[charger.config.charger_id] = client
                self._servers.append(client)
        if run_clock and self.speed > 0:
            self._loop_task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        period = self.step_s / self.speed
        next_at = time.monotonic()
        while True:
            self.step()
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def stop(self) -> None:
        """Stop the clock and every server."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        for server in reversed(self._servers):
            await server.stop()
        self._servers.clear()
        self.chargers.clear()

    def state(self) -> dict[str, Any]:
        """The truth of the house now, for the control channel and the demo."""
        h = self.house
        r = h.last
        m = h.meters
        return {
            "scenario": self.scenario.name,
            "time": h.now_s,
            "speed": self.speed,
            "step_s": self.step_s,
            "grid_up": h.grid.is_up(h.now_s),
            "last_step": None if r is None else {k: getattr(r, k) for k in r.__slots__},
            "battery": {"soc_pct": h.battery.soc_pct, "stored_wh": h.battery.stored_wh},
            "second_battery": None
            if h.second_battery is None
            else {"soc_pct": h.second_battery.soc_pct, "stored_wh": h.second_battery.stored_wh},
            "heat_pump": None
            if h.heat_pump is None
            else {
                "indoor_c": h.heat_pump.indoor_c,
                "sg_ready": int(self.overrides.heat_pump_sg_ready),
                "limit_w": self.overrides.heat_pump_limit_w,
                "hot_water_c": None if self.heat_pump is None else self.heat_pump.tank_c,
            },
            "evs": {
                cid: {
                    "plugged": ev.plugged,
                    "session_count": ev.session_count,
                    "delivered_wh": ev.delivered_wh,
                    "wanted_wh": ev.wanted_wh,
                    "limit_w": self.ev_limits_w.get(cid),
                }
                for cid, ev in h.evs.items()
            },
            "meters": {k: getattr(m, k) for k in m.__slots__},
            "commands": _commands_json(self.commands()),
            "addresses": self.addresses(),
        }


def _commands_json(c: Commands) -> dict[str, Any]:
    return {
        "battery_mode": str(c.battery.mode),
        "battery_power_w": c.battery.power_w,
        "battery_charge_cap_w": c.battery_charge_cap_w,
        "battery_discharge_cap_w": c.battery_discharge_cap_w,
        "reserve_pct": c.reserve_pct,
        "export_limit_w": c.export_limit_w,
        "ev_limits_w": dict(c.ev_limits_w),
        "heat_pump_sg_ready": int(c.heat_pump_sg_ready),
        "heat_pump_limit_w": c.heat_pump_limit_w,
        "heat_pump_shift_k": c.heat_pump_shift_k,
        "heat_pump_extra_w": c.heat_pump_extra_w,
        "second_battery_mode": str(c.second.battery.mode),
        "second_battery_power_w": c.second.battery.power_w,
    }
