"""Vendor profiles: register maps kept as data (one YAML file per device family), validated on load.

A profile file holds::

    name, title, manufacturer, models, source      what it covers and where the facts come from
    default_unit, max_block, max_gap, holes        how to talk to it
    registers: {key: {address, table, type, ...}}  every value, with scaling and write bounds
    quantities: {Quantity: key | {sum: [keys]} | {key, when_true: [...], when_false: [...]}}
    controls: {reserve_soc|charge_limit|discharge_limit|export_limit: {key, before: [steps]}}
    battery: {max_power | max_power_key, modes: {auto|hold|charge|discharge: [steps]},
              release: [steps], revert: {kind, seconds}, heartbeat: key}

A step is ``{key, value}`` or ``{block: [{key, value}, ...]}`` (one multi-register write); a value
may be the template ``power``, ``-power`` or ``revert_s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import yaml

from custom_components.gridnode.drivers.model import BatteryMode, Quantity

from .codec import ByteOrder, DataType, WordOrder
from .device import Control, Revert
from .errors import ProfileError
from .planner import MAX_READ, Table
from .registers import Bounds, Register

TEMPLATES = frozenset({"power", "-power", "revert_s"})
StepValue = int | float | str


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One write of a control sequence (``block`` holds several contiguous registers)."""

    key: str | None = None
    value: StepValue | None = None
    block: tuple[tuple[str, StepValue], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class QuantityRule:
    """How a shared quantity is computed from registers."""

    keys: tuple[str, ...]  # one key, or several summed
    true: frozenset[Any] = frozenset()
    false: frozenset[Any] = frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class ControlRule:
    """Which register a control writes and what must be written first."""

    key: str
    before: tuple[Step, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryRules:
    """How battery commands map onto the device's registers."""

    modes: Mapping[BatteryMode, tuple[Step, ...]]
    release: tuple[Step, ...]
    max_power: float | None = None
    max_power_key: str | None = None
    revert: Revert = Revert.NONE
    revert_seconds: int | None = None
    heartbeat: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    """A validated vendor profile."""

    name: str
    title: str
    manufacturer: str
    models: tuple[str, ...]
    source: str
    default_unit: int
    max_block: int
    max_gap: int
    holes: tuple[tuple[int, int], ...]
    registers: tuple[Register, ...]
    quantities: Mapping[Quantity, QuantityRule] = field(default_factory=dict)
    controls: Mapping[Control, ControlRule] = field(default_factory=dict)
    battery: BatteryRules | None = None
    identity: Mapping[str, str] = field(default_factory=dict)  # model/serial/firmware -> key

    def register(self, key: str) -> Register:
        """Return the register named ``key``."""
        for reg in self.registers:
            if reg.key == key:
                return reg
        raise KeyError(key)


_TOP = {
    "name", "title", "manufacturer", "models", "source", "default_unit", "max_block", "max_gap",
    "holes", "registers", "quantities", "controls", "battery", "identity",
}  # fmt: skip
_REG = {
    "address", "table", "type", "length", "word_order", "byte_order", "scale", "offset", "uom",
    "sentinels", "symbols", "writable", "single_write", "readable", "readback", "unit", "description",
}  # fmt: skip
_BOUNDS = {"min", "max", "choices", "max_key"}
_BATTERY = {"max_power", "max_power_key", "modes", "release", "revert", "heartbeat"}


def _mapping(data: object, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping")
    if allowed is not None and (unknown := set(data) - allowed):
        raise ProfileError(f"{where}: unknown field(s) {sorted(map(str, unknown))}")
    return data


def _register(key: str, raw: object, where: str) -> Register:
    data = _mapping(raw, f"{where}.{key}", _REG)
    bounds = None
    if "writable" in data:
        w = _mapping(data["writable"], f"{where}.{key}.writable", _BOUNDS)
        bounds = Bounds(
            minimum=w.get("min"),
            maximum=w.get("max"),
            choices=tuple(w.get("choices", ())),
            max_key=w.get("max_key"),
        )
    symbols = {int(k): str(v) for k, v in _mapping(data.get("symbols", {}), key).items()}
    try:
        return Register(
            key=key,
            address=int(data["address"]),
            table=Table(data.get("table", "holding")),
            dtype=DataType(data.get("type", "uint16")),
            length=data.get("length"),
            word_order=WordOrder(data.get("word_order", "big")),
            byte_order=ByteOrder(data.get("byte_order", "big")),
            scale=float(data.get("scale", 1.0)),
            offset=float(data.get("offset", 0.0)),
            uom=data.get("uom"),
            sentinels=frozenset(int(s) for s in data.get("sentinels", ())),
            symbols=symbols,
            writable=bounds,
            single_write=bool(data.get("single_write", False)),
            readable=bool(data.get("readable", True)),
            readback_key=data.get("readback"),
            unit=data.get("unit"),
            description=str(data.get("description", "")),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise ProfileError(f"{where}.{key}: {err}") from err


def _steps(raw: object, where: str, keys: Mapping[str, Register]) -> tuple[Step, ...]:
    if not isinstance(raw, list):
        raise ProfileError(f"{where}: expected a list of steps")
    steps: list[Step] = []
    for i, item in enumerate(raw):
        data = _mapping(item, f"{where}[{i}]", {"key", "value", "block"})
        if "block" in data:
            pairs = tuple(
                _pair(_mapping(p, f"{where}[{i}].block", {"key", "value"}), where, keys)
                for p in data["block"]
            )
            steps.append(Step(block=pairs))
        else:
            key, value = _pair(data, f"{where}[{i}]", keys)
            steps.append(Step(key=key, value=value))
    return tuple(steps)


def _pair(data: dict[str, Any], where: str, keys: Mapping[str, Register]) -> tuple[str, StepValue]:
    key, value = str(data.get("key")), data.get("value")
    if key not in keys or keys[key].writable is None:
        raise ProfileError(f"{where}: {key!r} is not a writable register")
    if (
        isinstance(value, str)
        and value not in TEMPLATES
        and value not in keys[key].symbols.values()
    ):
        raise ProfileError(f"{where}: {value!r} is neither a template nor a symbol of {key}")
    if not isinstance(value, int | float | str):
        raise ProfileError(f"{where}: step value missing")
    return key, value


def parse_profile(raw: object) -> Profile:
    """Validate a profile's parsed YAML and return it; raise ``ProfileError`` on any mistake."""
    data = _mapping(raw, "profile", _TOP)
    name = str(data.get("name", "?"))
    where = f"profile {name}"
    for required in ("name", "title", "manufacturer", "source", "registers"):
        if required not in data:
            raise ProfileError(f"{where}: missing {required}")
    regs_raw = _mapping(data["registers"], f"{where}.registers")
    registers = tuple(_register(str(k), v, f"{where}.registers") for k, v in regs_raw.items())
    by_key = {reg.key: reg for reg in registers}
    clashes = sorted(by_key.keys() & {q.value for q in Quantity})
    if clashes:
        raise ProfileError(f"{where}: register keys {clashes} clash with quantity names")
    default_unit = int(data.get("default_unit", 1))
    _check_overlaps(registers, default_unit, where)
    for reg in registers:
        refs = [reg.readback_key, reg.writable.max_key if reg.writable else None]
        for ref in refs:
            if ref is not None and ref not in by_key:
                raise ProfileError(f"{where}: {reg.key} refers to unknown register {ref!r}")
    quantities: dict[Quantity, QuantityRule] = {}
    for qname, rule in _mapping(data.get("quantities", {}), f"{where}.quantities").items():
        try:
            quantity = Quantity(qname)
        except ValueError as err:
            raise ProfileError(f"{where}: unknown quantity {qname!r}") from err
        quantities[quantity] = _quantity_rule(rule, f"{where}.quantities.{qname}", by_key)
    controls: dict[Control, ControlRule] = {}
    for cname, rule in _mapping(data.get("controls", {}), f"{where}.controls").items():
        if cname not in {c.value for c in Control} or cname == Control.BATTERY:
            raise ProfileError(f"{where}: unknown control {cname!r}")
        crule = _mapping(rule, f"{where}.controls.{cname}", {"key", "before"})
        key = crule.get("key")
        if key not in by_key or by_key[key].writable is None:
            raise ProfileError(f"{where}.controls.{cname}: {key!r} is not a writable register")
        before = _steps(crule.get("before", []), f"{where}.controls.{cname}.before", by_key)
        controls[Control(cname)] = ControlRule(key=str(key), before=before)
    battery = None
    if "battery" in data:
        battery = _battery(data["battery"], f"{where}.battery", by_key)
    identity = {str(k): str(v) for k, v in _mapping(data.get("identity", {}), where).items()}
    for ref in identity.values():
        if ref not in by_key:
            raise ProfileError(f"{where}.identity: unknown register {ref!r}")
    max_block = int(data.get("max_block", MAX_READ))
    if not 1 <= max_block <= MAX_READ:
        raise ProfileError(f"{where}: max_block must be 1..{MAX_READ}")
    return Profile(
        name=name,
        title=str(data["title"]),
        manufacturer=str(data["manufacturer"]),
        models=tuple(str(m) for m in data.get("models", ())),
        source=str(data["source"]),
        default_unit=default_unit,
        max_block=max_block,
        max_gap=int(data.get("max_gap", 0)),
        holes=tuple((int(a), int(b)) for a, b in data.get("holes", ())),
        registers=registers,
        quantities=quantities,
        controls=controls,
        battery=battery,
        identity=identity,
    )


def _check_overlaps(registers: tuple[Register, ...], unit: int, where: str) -> None:
    spans = sorted((reg.span(unit), reg.key) for reg in registers)
    for (a, akey), (b, bkey) in pairwise(spans):
        if (a.unit, a.table) == (b.unit, b.table) and b.address < a.end:
            raise ProfileError(f"{where}: registers {akey} and {bkey} overlap")


def _quantity_rule(raw: object, where: str, keys: Mapping[str, Register]) -> QuantityRule:
    if isinstance(raw, str):
        raw = {"key": raw}
    data = _mapping(raw, where, {"key", "sum", "when_true", "when_false"})
    names = tuple(data["sum"]) if "sum" in data else (data.get("key"),)
    for key in names:
        if key not in keys:
            raise ProfileError(f"{where}: unknown register {key!r}")
    return QuantityRule(
        keys=tuple(str(k) for k in names),
        true=frozenset(data.get("when_true", ())),
        false=frozenset(data.get("when_false", ())),
    )


def _battery(raw: object, where: str, keys: Mapping[str, Register]) -> BatteryRules:
    data = _mapping(raw, where, _BATTERY)
    modes_raw = _mapping(data.get("modes"), f"{where}.modes")
    modes: dict[BatteryMode, tuple[Step, ...]] = {}
    for mname, steps in modes_raw.items():
        try:
            mode = BatteryMode(mname)
        except ValueError as err:
            raise ProfileError(f"{where}: unknown battery mode {mname!r}") from err
        modes[mode] = _steps(steps, f"{where}.modes.{mname}", keys)
    if BatteryMode.AUTO not in modes:
        raise ProfileError(f"{where}: a battery profile needs an auto mode to hand control back")
    if "max_power" not in data and data.get("max_power_key") not in keys:
        raise ProfileError(f"{where}: needs max_power or a known max_power_key")
    revert = _mapping(data.get("revert", {"kind": "none"}), f"{where}.revert", {"kind", "seconds"})
    heartbeat = data.get("heartbeat")
    if heartbeat is not None and (heartbeat not in keys or keys[heartbeat].writable is None):
        raise ProfileError(f"{where}: heartbeat {heartbeat!r} is not a writable register")
    release = data.get("release")
    return BatteryRules(
        modes=modes,
        release=modes[BatteryMode.AUTO] if release is None else _steps(release, where, keys),
        max_power=data.get("max_power"),
        max_power_key=data.get("max_power_key"),
        revert=Revert(revert.get("kind", "none")),
        revert_seconds=revert.get("seconds"),
        heartbeat=heartbeat,
    )


def list_profiles() -> list[str]:
    """Return the names of the shipped profiles (read from disk once)."""
    return list(_profile_names())


@cache
def _profile_names() -> tuple[str, ...]:
    folder = resources.files(__package__).joinpath("profiles")
    return tuple(
        sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
    )


def preload_profiles() -> None:
    """Read and validate every shipped profile now (call it off the event loop, once)."""
    for name in list_profiles():
        load_profile(name)


@cache
def load_profile(name: str) -> Profile:
    """Load and validate the shipped profile ``name``; raise ``ProfileError`` if absent or invalid."""
    if name not in list_profiles():
        raise ProfileError(f"no profile named {name!r}; known: {', '.join(list_profiles())}")
    text = resources.files(__package__).joinpath("profiles", f"{name}.yaml").read_text("utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ProfileError(f"profile {name}: {err}") from err
    profile = parse_profile(raw)
    if profile.name != name:
        raise ProfileError(f"profile file {name}.yaml names itself {profile.name!r}")
    return profile
