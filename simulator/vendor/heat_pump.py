"""A NIBE S-series heat pump on Modbus TCP, laid out from GridNode's ``nibe_s`` profile.

Input registers follow the house's heat pump: outdoor, flow, return and hot-water temperatures,
``operating_mode`` 1911 (the SG-Ready state: 0 normal, 1 blocked, 2 recommended on, 3 forced on),
``electrical_power`` 2305 and ``energy_total`` 3823. Holding registers change the physics:

- ``heating_offset`` 30 (-10..10): shifts the heating curve; each step moves the room setpoint by
  ``ROOM_K_PER_STEP`` K.
- ``dhw_boost`` 161 (0 off, 1/2/3 for 3/6/12 hours, 4 one time): heats the hot-water tank to
  ``BOOST_C`` with ``HOT_WATER_W`` of electricity on top of space heating; a timed boost ends on the
  pump's own clock, a one-time boost once the tank is hot (the register returns to 0).
- SG-Ready inputs A 2741 / B 6008 (as evcc's nibe-s-series template writes them; served only while
  the profile does not map those addresses): (A, B) = (1, 0) blocks the compressor, (0, 0) normal,
  (0, 1) recommended on (raised setpoint), (1, 1) forced on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import time

from custom_components.gridnode.drivers.modbus import Bounds, Register, Table, load_profile
from simulator.physics import Commands, House, SgReady

from .image import ProfileImage

PROFILE = "nibe_s"
ROOM_K_PER_STEP = 0.5
HOT_WATER_W = 1500.0  # electrical, while boosting the tank
HOT_WATER_COP = 2.5
TANK_WH_PER_K = 200 * 4186 / 3600  # 200 litres of water
NORMAL_C = 48.0  # the tank's temperature without a boost
BOOST_C = 58.0
TANK_LOSS_K_PER_H = 2.0  # drawn-off and standing losses while above normal
BOOST_HOURS = {1: 3.0, 2: 6.0, 3: 12.0}
ONE_TIME = 4
SG_INPUTS = (
    Register(key="sg_ready_a", address=2741, writable=Bounds(choices=(0, 1))),
    Register(key="sg_ready_b", address=6008, writable=Bounds(choices=(0, 1))),
)
SG_FROM_INPUTS = {
    (1, 0): SgReady.BLOCKED,
    (0, 0): SgReady.NORMAL,
    (0, 1): SgReady.BOOST,
    (1, 1): SgReady.FORCED,
}
MODE_OF_SG = {
    SgReady.NORMAL: "normal",
    SgReady.BLOCKED: "blocked",
    SgReady.BOOST: "recommended_on",
    SgReady.FORCED: "forced_on",
}


class NibeHeatPump:
    """The register image of the heat pump, refreshed from the house and read for its controls."""

    def __init__(self, house: House, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Lay out the profile's registers; ``clock`` runs the timed hot-water boosts."""
        self.house = house
        self.clock = clock
        self.image = ProfileImage(load_profile(PROFILE), SG_INPUTS)
        self.written: set[str] = set()
        self.tank_c = NORMAL_C
        self._boost_until: float | None = None
        self._sg_shown = SgReady.NORMAL
        self._heating_water = False  # the last commands asked for hot-water power
        im = self.image
        im.set("heating_offset", 0)
        im.set("dhw_boost", "off")
        for key in ("sg_ready_a", "sg_ready_b"):
            if im.has(key):
                im.set(key, 0)
        self.refresh()

    # --- Modbus -----------------------------------------------------------------------------

    def read(self, address: int, count: int) -> list[int] | None:
        """Holding registers (function 3)."""
        self.tick()
        return self.image.read(Table.HOLDING, address, count)

    def read_input(self, address: int, count: int) -> list[int] | None:
        """Input registers (function 4)."""
        self.tick()
        return self.image.read(Table.INPUT, address, count)

    def writable(self, address: int, count: int) -> bool:
        """Whether a write there could be accepted (values aside)."""
        return self.image.writable(address, count)

    def write(self, address: int, values: list[int]) -> bool:
        """Write holding registers; False (refused) unless writable and within bounds."""
        changed = self.image.write(address, values)
        if changed is None:
            return False
        keys = {w.key for w in changed}
        self.written |= keys
        if "dhw_boost" in keys:
            code = self.image.raw("dhw_boost")
            hours = BOOST_HOURS.get(code)
            self._boost_until = None if hours is None else self.clock() + hours * 3600
        return True

    def tick(self) -> None:
        """End a timed hot-water boost whose time is up."""
        if self._boost_until is not None and self.clock() >= self._boost_until:
            self._boost_until = None
            self.image.set("dhw_boost", "off")

    # --- physics ----------------------------------------------------------------------------

    @property
    def boosting(self) -> bool:
        """Whether a hot-water boost is asked for."""
        return self.image.raw("dhw_boost") != 0

    def sg_ready(self) -> SgReady | None:
        """The SG-Ready state written over Modbus, or None while nobody has written it."""
        if not {"sg_ready_a", "sg_ready_b"} & self.written:
            return None
        pair = (self.image.raw("sg_ready_a"), self.image.raw("sg_ready_b"))
        return SG_FROM_INPUTS[pair]

    def commands(self, base: Commands) -> Commands:
        """``base`` with this heat pump's offset, hot-water boost and SG-Ready inputs applied."""
        self.tick()
        offset = float(self.image.get("heating_offset") or 0)
        extra = HOT_WATER_W if self.boosting and self.tank_c < BOOST_C else 0.0
        sg = self.sg_ready()
        state = base.heat_pump_sg_ready if sg is None else sg
        self._heating_water = extra > 0 and state is not SgReady.BLOCKED
        return replace(
            base,
            heat_pump_shift_k=base.heat_pump_shift_k + offset * ROOM_K_PER_STEP,
            heat_pump_extra_w=base.heat_pump_extra_w + extra,
            heat_pump_sg_ready=state,
        )

    def refresh(self, sg_in_force: SgReady | None = None) -> None:
        """Write the house's latest state into the input registers; advance the tank."""
        house = self.house
        r = house.last
        hp = house.heat_pump
        im = self.image
        if sg_in_force is not None:
            self._sg_shown = sg_in_force
        outdoor = r.outdoor_c if r else house.data.outdoor_c.at(house.now_s)
        electric = r.heat_pump_w if r else 0.0
        if r is not None:
            hours = r.dt_s / 3600
            if self._heating_water and not r.blackout:
                self.tank_c += HOT_WATER_W * HOT_WATER_COP * hours / TANK_WH_PER_K
            elif self.tank_c > NORMAL_C:
                self.tank_c = max(NORMAL_C, self.tank_c - TANK_LOSS_K_PER_H * hours)
            if self.tank_c >= BOOST_C and self.image.raw("dhw_boost") == ONE_TIME:
                im.set("dhw_boost", "off")
        indoor = hp.indoor_c if hp else 20.0
        running = electric > 0
        offset = float(im.get("heating_offset") or 0)
        flow = indoor + 2.0
        if running:
            flow = 20.0 + 0.6 * max(0.0, 20.0 - outdoor) + offset + 5.0
        im.set("outdoor_temp", round(outdoor, 1))
        im.set("flow_temp", round(flow, 1))
        im.set("return_temp", round(flow - (5.0 if running else 0.5), 1))
        im.set("dhw_top_temp", round(self.tank_c, 1))
        im.set("operating_mode", MODE_OF_SG[self._sg_shown])
        im.set("electrical_power", round(electric, -1))
        im.set("energy_total", hp.electric_wh if hp else 0.0)
