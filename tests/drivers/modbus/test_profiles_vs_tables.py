"""Vendor profiles checked against register tables written by others, not against themselves.

The simulator's images are encoded with each profile's own registers, so a wrong address, type, scale
or word order would still read back "correctly" there. Here every register a profile defines is set
beside the independent tables in ../shared/data/modbus_maps (evcc's templates, the SolaX plugin,
Sungrow's SHx map) that describe the same device family: a row at the same address and table must
agree on the type, the word order of a 32-bit value and the scale (in the profile's unit; a sign is
compared only where the table's sign convention is known to be GridNode's own, evcc's grid and
battery powers). What no table covers is listed explicitly below, so a new uncovered register is
noticed, and every disagreement that is kept has its reason written beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math
from pathlib import Path

import pytest

from custom_components.gridnode.drivers.modbus import (
    DataType,
    Register,
    WordOrder,
    list_profiles,
    load_profile,
)
from tests.conftest import needs_shared_data

from .register_tables import EVCC, SOLAX, TableRow, rows_for

pytestmark = needs_shared_data

_WIDE = {"int32", "uint32", "float32", "int64", "uint64"}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A profile register and a table row that disagree on one field."""

    key: str
    source: str
    field: str
    profile: object
    table: object
    row: str
    variant: str = ""


def covering(reg: Register, default_unit: int, rows: list[TableRow]) -> list[TableRow]:
    """The rows about ``reg``: same address and table, on the unit the tables describe."""
    if reg.unit is not None and reg.unit != default_unit:
        return []  # the tables describe the device's main unit only
    return [r for r in rows if r.address == reg.address and r.table == reg.table.value]


def compare(reg: Register, row: TableRow) -> list[Mismatch]:
    """What ``row`` says differently from ``reg``."""

    def mismatch(field: str, mine: object, theirs: object) -> Mismatch:
        return Mismatch(reg.key, row.source, field, mine, theirs, row.what, row.variant)

    found: list[Mismatch] = []
    dtype = reg.dtype.value
    if row.dtype is not None and row.dtype != dtype and "string" not in {row.dtype, dtype}:
        found.append(mismatch("type", dtype, row.dtype))
    if row.word_order is not None and dtype in _WIDE and reg.word_order.value != row.word_order:
        found.append(mismatch("word_order", reg.word_order.value, row.word_order))
    if reg.symbols or reg.scale_key is not None:
        return found  # enumerations and SunSpec-style scale factors have no fixed scale to compare
    theirs = row.scale_in(reg.uom)
    if theirs is None:
        return found
    mine = reg.scale if row.signed_convention else abs(reg.scale)
    theirs = theirs if row.signed_convention else abs(theirs)
    if not math.isclose(mine, theirs, rel_tol=1e-9):
        found.append(mismatch("scale", mine, theirs))
    return found


def check(profile_name: str, data: Path) -> tuple[list[Mismatch], list[str]]:
    """Every disagreement, and the keys of the profile's registers no table covers."""
    profile = load_profile(profile_name)
    rows = rows_for(profile_name, data)
    mismatches: list[Mismatch] = []
    uncovered: list[str] = []
    for reg in profile.registers:
        rows_here = covering(reg, profile.default_unit, rows)
        if not rows_here:
            uncovered.append(reg.key)
        for row in rows_here:
            mismatches.extend(compare(reg, row))
    return mismatches, uncovered


# Registers no independent table here describes (their facts come from the sources each profile's
# header names). A register added to a profile without table coverage fails until listed here.
UNCOVERED: dict[str, set[str]] = {
    "nibe_s": {
        # temperatures, heating offset and hot-water boost: NIBE's S-series register list
        "outdoor_temp",
        "flow_temp",
        "return_temp",
        "dhw_top_temp",
        "heating_offset",
        "dhw_boost",
    },
    "schrack_icharge_cion": set(),
    "solax_gen4": set(),
    "sungrow_shx": set(),
    "victron_gx": {
        # system: consumption, active input, battery voltage and state; settings 2700 and 2706;
        # the VE.Bus unit 227: Victron's CCGX-Modbus-TCP register list, which is not a table here
        "consumption_l1",
        "consumption_l2",
        "consumption_l3",
        "active_input",
        "battery_voltage",
        "battery_state",
        "ess_grid_setpoint",
        "max_feed_in",
        "vebus_setpoint_l1",
        "vebus_disable_charge",
        "vebus_disable_feed_in",
    },
}

# Disagreements kept on purpose, each with the reason: (profile, key, source, field, variant).
KNOWN: dict[tuple[str, str, str, str, str], str] = {
    ("sungrow_shx", "battery_soc_reg", EVCC, "type", ""): (
        "evcc decodes the SoC as int16, Sungrow's map as uint16; 0..1000 reads the same either way "
        "and the map follows Sungrow's protocol (U16)"
    ),
    ("solax_gen4", "battery_charge_power", EVCC, "scale", ""): (
        "evcc's row for battery 1 (0x16) has no -1 while its row for battery 2 (0x129) has one; "
        "the SolaX plugin names 0x16 battery_power_charge (positive while charging), so the "
        "profile's flip to + discharge stands"
    ),
    ("solax_gen4", "export_limit_set", SOLAX, "scale", "X3"): (
        "the plugin writes the export limit of an X3 Gen4 in 10 W steps (X1: 1 W); one profile "
        "covers both and has no per-model scale: an X3 needs its own profile (reported)"
    ),
    ("solax_gen4", "export_limit_reg", SOLAX, "scale", "X3"): (
        "the read-back of the same X3 export limit, in 10 W steps (see export_limit_set)"
    ),
}


@pytest.mark.parametrize("profile_name", sorted(UNCOVERED))
def test_profile_agrees_with_the_independent_tables(
    profile_name: str, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mismatches, uncovered = check(profile_name, shared_data)
    unexplained = [
        m for m in mismatches if (profile_name, m.key, m.source, m.field, m.variant) not in KNOWN
    ]
    with capsys.disabled():
        print(f"\n{profile_name}: uncovered by any table: {sorted(uncovered)}")
    assert unexplained == []
    assert set(uncovered) == UNCOVERED[profile_name]
    seen = {(profile_name, m.key, m.source, m.field, m.variant) for m in mismatches}
    stale = {k for k in KNOWN if k[0] == profile_name} - seen
    assert not stale, f"disagreements listed as known no longer occur: {sorted(stale)}"


def test_every_shipped_profile_is_checked() -> None:
    assert set(list_profiles()) == set(UNCOVERED)


@pytest.mark.parametrize(
    ("key", "change", "field"),
    [
        ("pv_energy_total", {"word_order": WordOrder.BIG}, "word_order"),
        ("pv_energy_total", {"scale": 1000.0}, "scale"),
        ("inverter_temperature", {"dtype": DataType.UINT16}, "type"),
        ("export_power", {"scale": 1.0}, None),  # a sign is compared only in evcc's convention
    ],
)
def test_a_wrong_fact_in_a_profile_is_caught(
    key: str, change: dict[str, object], field: str | None, shared_data: Path
) -> None:
    """The check is not circular: the same register with one fact changed disagrees with a table."""
    profile = load_profile("sungrow_shx")
    rows = rows_for("sungrow_shx", shared_data)
    wrong = replace(profile.register(key), **change)  # type: ignore[arg-type]
    fields = {m.field for row in covering(wrong, 1, rows) for m in compare(wrong, row)}
    if field is None:  # evcc's -1 on 13009 matches the profile's flip; dropping it disagrees
        assert fields == {"scale"}
    else:
        assert field in fields
