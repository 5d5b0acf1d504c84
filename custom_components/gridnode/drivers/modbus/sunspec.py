"""SunSpec discovery and the device built from the models it finds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
import logging

from custom_components.gridnode.drivers.model import BatteryCommand, BatteryMode, Quantity

from .device import Capabilities, Control, ControlLimits, DeviceInfo, ModbusDevice, Revert
from .errors import DeviceRejected, DeviceUnavailable, NotSunSpec
from .planner import Table
from .registers import POWER_MARGIN, Register, Value
from .regmap import DEFINITIVE_CODES, RegisterMap
from .sunspec_models import (
    END_ID,
    MARKER,
    ModelInstance,
    group_size,
    model_definition,
    model_registers,
)
from .transport import Endpoint

_LOGGER = logging.getLogger(__name__)

BASES = (40000, 50000, 0)
MAX_MODELS = 64
INVERTERS = (101, 102, 103, 111, 112, 113, 701)
ALRM_GRID_DISCONNECT_BIT = 4  # model 701 Alrm
DERMODE_GRID_FORMING_BIT = 1  # model 701 DERMode
METERS = (201, 202, 203, 204, 211, 212, 213, 214)
BATTERY_RATINGS = ("124.WChaMax", "802.WChaRteMax", "802.WDisChaRteMax")
INVERTER_RATINGS = ("120.WRtg", "702.WMaxRtg")
MIN_RATING_W = 100.0  # a rating below this is no rating to bound readings by


DISCOVERY_TRIES = 4
"""Attempts per discovery read: a busy or failing answer is retried this often, then the walk fails."""
DISCOVERY_RETRY_S = 0.05
WALKS = 4
"""Reads of the model chain (and of the ratings) until two agree: a garbled header or rating
yields a result that differs, and is never kept until the device is reloaded."""
USABLE = frozenset({*INVERTERS, *METERS, 120, 124, 160, 702, 713, 802})
"""Models GridNode reads or drives; a device with none of them is of no use (and not available)."""


async def _read_words(endpoint: Endpoint, unit: int, address: int, count: int) -> list[int]:
    """Read during discovery, retrying busy and failure answers and a single lost frame."""
    for attempt in range(1, DISCOVERY_TRIES + 1):
        try:
            return await endpoint.read(unit, Table.HOLDING, address, count)
        except DeviceRejected as err:
            if err.code in DEFINITIVE_CODES or attempt == DISCOVERY_TRIES:
                raise
        except DeviceUnavailable:
            if not endpoint.available or attempt == DISCOVERY_TRIES:
                raise  # backing off: the device is silent, discovery is retried on the next poll
        await asyncio.sleep(DISCOVERY_RETRY_S * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _length_fits(model_id: int, length: int) -> bool:
    """Whether ``length`` fits the definition of ``model_id`` (unknown models: any length)."""
    definition = model_definition(model_id)
    if definition is None:
        return True
    group = definition["group"]
    points = group.get("points", ())
    fixed = sum(int(p.get("size", 1)) for p in points) - 2  # without the ID and L header
    repeats: list[int] = []
    for sub in group.get("groups", ()):
        count = sub.get("count")
        if isinstance(count, int) and count > 0:
            fixed += group_size(sub) * count
        else:
            repeats.append(group_size(sub))
    if not repeats:
        # older revisions omit a trailing pad register (model 1 of length 65)
        pad = int(points[-1].get("size", 1)) if points and points[-1]["type"] == "pad" else 0
        return length in (fixed, fixed - pad)
    if length < fixed:
        return False
    if len(repeats) == 1 and repeats[0] > 0:
        return (length - fixed) % repeats[0] == 0
    return True


async def _walk(endpoint: Endpoint, unit: int, start: int) -> list[ModelInstance]:
    """Walk the model chain from ``start``; raise ``DeviceUnavailable`` unless it is whole."""
    models: list[ModelInstance] = []
    seen: dict[int, int] = {}
    address = start
    while address + 2 <= 0x10000:
        try:
            model_id, length = await _read_words(endpoint, unit, address, 2)
        except DeviceRejected as err:
            raise DeviceUnavailable(
                f"unit {unit}: model chain broken at {address} (exception {err.code})"
            ) from err
        if model_id == END_ID:
            if length != 0:
                raise DeviceUnavailable(f"unit {unit}: end marker at {address} has length {length}")
            return models
        if model_id == 0 or not _length_fits(model_id, length):
            raise DeviceUnavailable(
                f"unit {unit}: model {model_id} of length {length} at {address} is not valid"
            )
        if len(models) == MAX_MODELS:
            break
        seen[model_id] = seen.get(model_id, 0) + 1
        key = str(model_id) if seen[model_id] == 1 else f"{model_id}_{seen[model_id]}"
        models.append(ModelInstance(model_id, address, length, key))
        address += 2 + length
    raise DeviceUnavailable(f"unit {unit}: model chain without an end marker")


async def find_models(
    endpoint: Endpoint, unit: int, bases: Sequence[int] = BASES
) -> list[ModelInstance]:
    """Find the ``SunS`` marker and walk the model chain (one read per model header).

    The chain must end with the end marker (id 0xFFFF, length 0) and each known model's length
    must fit its definition; busy and failure answers are retried a few times. The walk is
    repeated until two walks agree. Anything else raises ``DeviceUnavailable`` (discovery is
    retried on the next poll): a partial or garbled model list is never returned.
    """
    for base in bases:
        if await _has_marker(endpoint, unit, base):
            break
    else:
        raise NotSunSpec(f"no SunSpec marker at {', '.join(map(str, bases))} on unit {unit}")
    return await _agreed(lambda: _walk(endpoint, unit, base + 2), endpoint, "model chain")


async def _has_marker(endpoint: Endpoint, unit: int, base: int) -> bool:
    """Whether ``base`` holds the ``SunS`` marker (an answer without it is read once more)."""
    for _read in range(2):
        try:
            words = await _read_words(endpoint, unit, base, 2)
        except DeviceRejected:
            return False
        if tuple(words) == MARKER:
            return True
    return False


async def _agreed[T](read: Callable[[], Awaitable[T]], endpoint: Endpoint, what: str) -> T:
    """Run ``read`` until two of its results agree (at most ``WALKS`` times).

    A failed attempt counts as one while the endpoint still answers; once it backs off the
    error is raised (the next poll tries again).
    """
    results: list[T] = []
    error: DeviceUnavailable | None = None
    for _attempt in range(WALKS):
        try:
            result = await read()
        except DeviceUnavailable as err:
            if not endpoint.available:
                raise
            error = err
            continue
        if result in results:
            return result
        results.append(result)
    if error is not None and not results:
        raise error
    raise DeviceUnavailable(f"the {what} read differently every time")


async def discover_sunspec(
    endpoint: Endpoint, unit: int, bases: Sequence[int] = BASES
) -> SunSpecDevice:
    """Discover a SunSpec device on ``unit``: raise ``NotSunSpec`` or ``DeviceUnavailable``."""
    models = await find_models(endpoint, unit, bases)
    if not any(m.model_id in USABLE for m in models):
        found = ", ".join(str(m.model_id) for m in models) or "none"
        raise DeviceUnavailable(f"unit {unit}: no SunSpec model GridNode can use (found {found})")
    device = SunSpecDevice(endpoint, unit, models)
    await device.identify()
    return device


class SunSpecDevice(ModbusDevice):
    """A device described by the SunSpec models found on it; unknown models are skipped."""

    def __init__(self, endpoint: Endpoint, unit: int, models: Sequence[ModelInstance]) -> None:
        self.models = list(models)
        self.skipped = [m.model_id for m in models if model_definition(m.model_id) is None]
        registers: list[Register] = []
        for model in models:
            registers.extend(model_registers(model))
        keys = {reg.key for reg in registers}
        registers = [r for r in registers if r.scale_key is None or r.scale_key in keys]
        # max_gap=2 lets one read span the ID/L header between neighbouring models
        super().__init__(RegisterMap(endpoint, unit, registers, max_gap=2))
        self._ids = {m.key: m.model_id for m in models}
        self._heartbeat = 0
        self._battery_max: float = 0.0
        self.info = DeviceInfo(manufacturer="SunSpec", model="unknown", source="sunspec")
        self.capabilities = Capabilities()

    def model(self, *ids: int) -> str | None:
        """Return the key of the first model found among ``ids`` (None when none is there)."""
        for model in self.models:
            if model.model_id in ids and model_definition(model.model_id) is not None:
                return model.key
        return None

    def has(self, key: str) -> bool:
        """Return True when the device has register ``key`` (e.g. ``"124.MinRsvPct"``)."""
        return key in self.regmap.registers

    def _poll_keys(self) -> list[str]:
        return [k for k in self.regmap.registers if not k.startswith("1.")]

    async def identify(self) -> DeviceInfo:
        """Read the common model and the ratings the controls need; set ``info`` and ``capabilities``."""
        common = [k for k in ("1.Mn", "1.Md", "1.SN", "1.Vr") if self.has(k)]
        values = await self.regmap.read_confirmed(common) if common else {}
        self.info = DeviceInfo(
            manufacturer=str(values.get("1.Mn") or "SunSpec"),
            model=str(values.get("1.Md") or "unknown"),
            serial=None if values.get("1.SN") is None else str(values["1.SN"]),
            firmware=None if values.get("1.Vr") is None else str(values["1.Vr"]),
            source="sunspec",
        )
        ratings = [k for k in (*BATTERY_RATINGS, *INVERTER_RATINGS) if self.has(k)]
        rating = await self._read_agreed(ratings) if ratings else {}
        self.capabilities = self._capabilities(rating)
        self._set_power_limits(rating)
        return self.info

    async def _read_agreed(self, keys: list[str]) -> dict[str, Value]:
        """Read ``keys`` whole and plausible until two reads agree.

        A garbled rating would otherwise set the device's limits until it is reloaded.
        """
        return await _agreed(
            lambda: self.regmap.read_complete(keys), self.regmap.endpoint, "ratings"
        )

    def _set_power_limits(self, rating: Mapping[str, Value]) -> None:
        """Bound the power readings of the inverter and storage models by their ratings."""

        def largest(keys: Sequence[str]) -> float | None:
            numbers = [float(v) for k in keys if isinstance(v := rating.get(k), int | float)]
            best = max(numbers, default=0.0)
            return best * POWER_MARGIN if best >= MIN_RATING_W else None

        inverter, battery = largest(INVERTER_RATINGS), largest(BATTERY_RATINGS)
        limits: dict[str, float] = {}
        for model in self.models:
            if model.model_id in (*INVERTERS, 160) and inverter is not None:
                limits[f"{model.key}."] = inverter
            elif model.model_id in (124, 713, 802) and battery is not None:
                limits[f"{model.key}."] = battery
        self.regmap.power_limits = limits

    def _capabilities(self, rating: Mapping[str, Value]) -> Capabilities:
        controls: dict[Control, ControlLimits] = {}
        modes: frozenset[BatteryMode] = frozenset()
        caps = False
        revert = Revert.NONE
        if self.has("124.MinRsvPct"):
            controls[Control.RESERVE_SOC] = ControlLimits(minimum=0.0, maximum=100.0, uom="%")
        cha_max = rating.get("802.WChaRteMax")
        if self.has("124.WChaMax") and isinstance(cha_max, int | float):
            controls[Control.CHARGE_LIMIT] = ControlLimits(
                minimum=0.0, maximum=float(cha_max), uom="W"
            )
        w_max = rating.get("124.WChaMax")
        control_keys = ("124.StorCtl_Mod", "124.InWRte", "124.OutWRte")
        if all(self.has(k) for k in control_keys) and isinstance(w_max, int | float) and w_max > 0:
            self._battery_max = float(w_max)
            controls[Control.BATTERY] = ControlLimits(minimum=0.0, maximum=float(w_max), uom="W")
            modes = frozenset(BatteryMode)
            caps = True
            if self.has("124.InOutWRte_RvrtTms"):
                revert = Revert.TIMER
            elif self.has("802.CtrlHb"):
                revert = Revert.HEARTBEAT
        probe: dict[str, Value] = dict.fromkeys(self.regmap.registers)
        quantities = frozenset(self._quantities(probe))
        writable = {
            r.key: r.writable for r in self.regmap.registers.values() if r.writable is not None
        }
        return Capabilities(
            quantities=quantities,
            controls=controls,
            battery_modes=modes,
            battery_caps=caps,
            revert=revert,
            writable=writable,
        )

    def _quantities(self, values: Mapping[str, Value]) -> dict[Quantity, Value]:
        out: dict[Quantity, Value] = {}

        def put(quantity: Quantity, key: str | None) -> None:
            if key is not None and key in values:
                out[quantity] = values[key]

        inv = self.model(*INVERTERS)
        if inv is not None and self._ids[inv] == 701:
            put(Quantity.AC_POWER, f"{inv}.W")
            put(Quantity.AC_ENERGY, f"{inv}.TotWhInj")
            put(Quantity.GRID_FREQUENCY, f"{inv}.Hz")
            put(Quantity.GRID_VOLTAGE, f"{inv}.LNV")
            put(Quantity.TEMPERATURE, f"{inv}.TmpCab")
            if f"{inv}.InvSt" in values:
                state = values[f"{inv}.InvSt"]
                out[Quantity.INVERTER_STATE] = None if state is None else str(state)
            if f"{inv}.ConnSt" in values:
                conn = values[f"{inv}.ConnSt"]
                out[Quantity.GRID_CONNECTED] = None if conn is None else conn == "connected"
        elif inv is not None:
            put(Quantity.AC_POWER, f"{inv}.W")
            put(Quantity.AC_ENERGY, f"{inv}.WH")
            put(Quantity.GRID_FREQUENCY, f"{inv}.Hz")
            put(Quantity.GRID_VOLTAGE, f"{inv}.PhVphA")
            put(Quantity.PV_POWER, f"{inv}.DCW")
            put(Quantity.TEMPERATURE, f"{inv}.TmpCab")
            put(Quantity.INVERTER_STATE, f"{inv}.St")
        der = self.model(701)
        if der is not None and der != inv and f"{der}.ConnSt" in values:
            # A hybrid serving 10x and 701: the grid connection comes from the DER model.
            conn = values[f"{der}.ConnSt"]
            out[Quantity.GRID_CONNECTED] = None if conn is None else conn == "connected"
        if der is not None:
            alarm = values.get(f"{der}.Alrm")
            if isinstance(alarm, int) and alarm & (1 << ALRM_GRID_DISCONNECT_BIT):
                out[Quantity.GRID_CONNECTED] = False
            mode = values.get(f"{der}.DERMode")
            if isinstance(mode, int):
                out[Quantity.GRID_FORMING] = bool(mode & (1 << DERMODE_GRID_FORMING_BIT))
        mppt = self.model(160)
        if mppt is not None:
            dcw = [k for k in values if k.startswith(f"{mppt}.module[") and k.endswith(".DCW")]
            if dcw:
                powers = [v for k in dcw if isinstance(v := values[k], int | float)]
                out[Quantity.PV_POWER] = sum(powers) if powers else None
        meter = self.model(*METERS)
        if meter is not None:
            put(Quantity.GRID_POWER, f"{meter}.W")
            put(Quantity.GRID_IMPORT_ENERGY, f"{meter}.TotWhImp")
            put(Quantity.GRID_EXPORT_ENERGY, f"{meter}.TotWhExp")
            if inv is None:
                put(Quantity.GRID_FREQUENCY, f"{meter}.Hz")
                put(Quantity.GRID_VOLTAGE, f"{meter}.PhVphA")
        if self.model(124) is not None:
            put(Quantity.BATTERY_SOC, "124.ChaState")
            put(Quantity.BATTERY_RESERVE_SOC, "124.MinRsvPct")
        if self.model(713) is not None:
            put(Quantity.BATTERY_SOC, "713.SoC")
            put(Quantity.BATTERY_SOH, "713.SoH")
            put(Quantity.BATTERY_CAPACITY, "713.WHRtg")
        if self.model(802) is not None:
            put(Quantity.BATTERY_SOC, "802.SoC")
            put(Quantity.BATTERY_SOH, "802.SoH")
            put(Quantity.BATTERY_CAPACITY, "802.WHRtg")
            if "802.W" in values:
                out[Quantity.BATTERY_POWER] = _battery_power(
                    values["802.W"], values.get("802.ChaSt")
                )
        return out

    def _revert_keys(self) -> list[str]:
        return ["124.InOutWRte_RvrtTms"] if self.capabilities.revert is Revert.TIMER else []

    def _pct(self, watts: float) -> float:
        return round(100.0 * watts / self._battery_max, 6)

    async def _apply_battery(self, cmd: BatteryCommand, revert_s: int) -> None:
        regmap = self.regmap
        if self.capabilities.revert is Revert.TIMER:
            await regmap.write("124.InOutWRte_RvrtTms", revert_s)
        if cmd.mode is BatteryMode.AUTO and not cmd.capped:
            await regmap.write("124.StorCtl_Mod", 0)
        else:
            # InWRte caps charging, OutWRte discharging (% of WChaMax); a negative limit forces
            # the other direction, so the battery follows the house within the command's band
            low, high = cmd.band(self._battery_max, self._battery_max)
            rates = (self._pct(-low) + 0.0, self._pct(high) + 0.0)  # never -0.0
            await regmap.write("124.InWRte", rates[0])
            await regmap.write("124.OutWRte", rates[1])
            await regmap.write("124.StorCtl_Mod", 3)
        await self.heartbeat()

    async def heartbeat(self) -> None:
        """Increment the 802 controller heartbeat, where the device has one."""
        if self.has("802.CtrlHb"):
            self._heartbeat = (self._heartbeat + 1) % 0xFFFF
            await self.regmap.write("802.CtrlHb", self._heartbeat)

    async def _set(self, control: Control, value: float) -> None:
        key = {Control.RESERVE_SOC: "124.MinRsvPct", Control.CHARGE_LIMIT: "124.WChaMax"}[control]
        await self.regmap.write(key, value)

    async def release(self) -> None:
        """Drop any charge/discharge limits: the storage returns to its own control."""
        if self.has("124.StorCtl_Mod"):
            await self.regmap.write("124.StorCtl_Mod", 0)


def _battery_power(watts: Value, state: Value) -> Value:
    """Return battery power with GridNode's sign (+ discharge), using ChaSt when it is known.

    Devices disagree on the sign of 802 ``W``; the charge status says which way energy flows.
    """
    if not isinstance(watts, int | float):
        return None
    if state == "discharging":
        return abs(watts)
    if state == "charging":
        return -abs(watts)
    return watts
