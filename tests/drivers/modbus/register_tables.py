"""Independent register tables (../shared/data/modbus_maps), read into one shape to check profiles by.

Each source keeps its own conventions; this module turns them into ``TableRow``s:

- evcc templates (``evcc_templates_modbus_registers.csv``): ``reg_type`` input/holding are reads,
  write* are writes (evcc multiplies the value by ``scale`` before writing, so a write row's scale is
  the inverse of a read scale); ``decode`` ending in ``s`` (``int32s``) is low word first, ``nan``
  only marks a sentinel; an empty ``decode`` states no type and an empty ``scale`` means 1. Energies
  and capacities are in kWh, powers in W, with evcc's signs: grid + import, battery + discharge.
- Sungrow's SHx map (``sungrow_shx_registers.csv``, 0-based addresses): ``swap: word`` is low word
  first; ``scale`` in the row's ``unit``; signs as the device reports them.
- The SolaX plugin (``solax_modbus_plugin_solax_registers.csv``): no data type or word order;
  ``REG_INPUT``/``REG_HOLDING`` are reads, an empty type is a holding register (a setting written or
  read back); ``scale`` in ``native_unit``; ``allowedtypes`` says which inverters a row is for.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

EVCC = "evcc_templates_modbus_registers.csv"
SUNGROW = "sungrow_shx_registers.csv"
SOLAX = "solax_modbus_plugin_solax_registers.csv"

_KWH = {"kWh", "UnitOfEnergy.KILO_WATT_HOUR"}
_KW = {"kW", "UnitOfPower.KILO_WATT"}
_EVCC_KWH = {"energy", "returnenergy", "capacity"}
# evcc quantities whose writes are mode words computed by the template, not scaled values
_EVCC_MODES = {"batterymode", "setmode", "getmode", "enable", "enabled", "status"}


@dataclass(frozen=True, slots=True)
class TableRow:
    """One register fact as an independent table states it (None: the table does not say)."""

    source: str  # file name
    what: str  # the row's own name, for reports
    address: int
    table: str | None  # "input", "holding", or None for a SolaX row that may be either holding use
    dtype: str | None
    word_order: str | None
    scale: float | None  # raw -> value in ``unit``, read sense; None: a mode word, no scale
    unit: str | None
    signed_convention: bool  # True when the row's sign follows evcc's + import / + discharge
    variant: str = ""  # the model variant a row is for (SolaX "X1"/"X3"), "" for all

    def scale_in(self, uom: str | None) -> float | None:
        """The row's scale converted to the profile's unit (kWh -> Wh, kW -> W)."""
        if (
            self.scale is not None
            and uom in {"Wh", "W"}
            and (self.unit in _KWH or self.unit in _KW)
        ):
            return self.scale * 1000
        return self.scale


def _float(text: str, default: float = 1.0) -> float:
    return float(text) if text.strip() else default


def _decode(text: str) -> tuple[str | None, str | None]:
    decode = text.strip().lower().removesuffix("nan")
    if not decode or decode in {"bytes", "decode"}:
        return None, None
    swapped = decode.endswith("s") and decode[:-1] in {"int32", "uint32", "float32", "uint64"}
    dtype = decode[:-1] if swapped else decode
    wide = dtype not in {"int16", "uint16"}
    return dtype, ("little" if swapped else "big") if wide else None


def evcc_rows(data: Path, template: str) -> list[TableRow]:
    """The rows of one evcc template."""
    rows: list[TableRow] = []
    with (data / "modbus_maps" / EVCC).open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["template"] != template:
                continue
            kind = row["reg_type"].strip()
            write = kind.startswith("write")
            scale = _float(row["scale"])
            dtype, word_order = _decode(row["decode"])
            quantity = row["quantity"]
            rows.append(
                TableRow(
                    source=EVCC,
                    what=f"{template}.{row['usage'] or '-'}.{quantity} {row['comment']}".strip(),
                    address=int(row["address"]),
                    table="holding" if write else kind,
                    dtype=dtype,
                    word_order=word_order,
                    scale=None if quantity in _EVCC_MODES else 1 / scale if write else scale,
                    unit="kWh" if quantity in _EVCC_KWH else None,
                    signed_convention=quantity == "power" and row["usage"] in {"grid", "battery"},
                )
            )
    return rows


def sungrow_rows(data: Path) -> list[TableRow]:
    """Sungrow's SHx map."""
    rows: list[TableRow] = []
    with (data / "modbus_maps" / SUNGROW).open(newline="") as handle:
        for row in csv.DictReader(handle):
            dtype = row["data_type"].strip() or None
            if dtype == "string":
                dtype = "string"
            wide = dtype in {"int32", "uint32", "float32"}
            rows.append(
                TableRow(
                    source=SUNGROW,
                    what=row["name"],
                    address=int(row["address"]),
                    table=row["input_type"].strip(),
                    dtype=dtype,
                    word_order=("little" if row["swap"].strip() == "word" else "big")
                    if wide
                    else None,
                    scale=_float(row["scale"]),
                    unit=row["unit"].strip() or None,
                    signed_convention=False,
                )
            )
    return rows


def solax_rows(data: Path, generation: str = "GEN4") -> list[TableRow]:
    """The SolaX plugin's rows for hybrid inverters of ``generation`` (either X1 or X3)."""
    rows: list[TableRow] = []
    with (data / "modbus_maps" / SOLAX).open(newline="") as handle:
        for row in csv.DictReader(handle):
            tokens = {t.strip() for t in row["allowedtypes"].split("|")}
            gens = {t for t in tokens if t.startswith("GEN")}
            if "HYBRID" not in tokens or (gens and generation not in gens):
                continue
            kind = row["register_type"].strip()
            variant = "X1" if "X1" in tokens else "X3" if "X3" in tokens else ""
            rows.append(
                TableRow(
                    source=SOLAX,
                    what=row["key"],
                    address=int(row["register"]),
                    table={"REG_INPUT": "input", "REG_HOLDING": "holding"}.get(kind, "holding"),
                    dtype=None,
                    word_order=None,
                    scale=_float(row["scale"]),
                    unit=row["native_unit"].strip() or None,
                    signed_convention=False,
                    variant=variant,
                )
            )
    return rows


def rows_for(profile: str, data: Path) -> list[TableRow]:
    """Every independent row about the device family ``profile`` covers ([] when no table does)."""
    match profile:
        case "sungrow_shx":
            return sungrow_rows(data) + evcc_rows(data, "sungrow-hybrid")
        case "solax_gen4":
            return solax_rows(data, "GEN4") + evcc_rows(data, "solax")
        case "victron_gx":
            return evcc_rows(data, "victron-energy")
        case "nibe_s":
            return evcc_rows(data, "nibe-s-series")
        case "schrack_icharge_cion":
            return evcc_rows(data, "ichargecion")
    return []
