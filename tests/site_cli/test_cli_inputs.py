"""The ``site`` command line refuses unusable files with one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.gridnode.site.__main__ import main
from custom_components.gridnode.site.inputs import BadInput, read_entry, read_states

ENTRY: dict[str, Any] = {
    "entry_id": "site1",
    "domain": "gridnode",
    "title": "Home",
    "data": {
        "name": "Home",
        "import_limit_kw": 17,
        "export_limit_kw": 5,
        "currency": "EUR",
        "latitude": 50.8,
        "longitude": 4.4,
    },
    "options": {
        "slot_minutes": 60,
        "horizon_hours": 12,
        "tariff_source": "fixed",
        "import_price": 0.3,
        "export_price": 0.05,
    },
    "subentries": [
        {
            "subentry_id": "bat",
            "subentry_type": "entity_device",
            "title": "Battery",
            "data": {
                "role": "battery",
                "power_entity": "sensor.bat_w",
                "soc_entity": "sensor.soc",
                "capacity_kwh": 10,
                "max_power_w": 4000,
            },
        },
        {
            "subentry_id": "inv",
            "subentry_type": "modbus",
            "title": "Inverter",
            "data": {"host": "192.0.2.1", "port": 502, "unit": 1},
        },
    ],
}
STATES = {
    "sensor.soc": {"state": "55", "attributes": {"unit_of_measurement": "%"}},
    "sensor.bat_w": {"state": "0", "attributes": {"unit_of_measurement": "W"}},
}


def _write(folder: Path, name: str, content: Any) -> str:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_an_entry_prints_its_problem_and_says_what_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, "entry.json", ENTRY)
    states = _write(tmp_path, "states.json", STATES)
    argv = ["problem", "--config", config, "--states", states]
    code = main([*argv, "--now", "2026-03-02T09:10:00+00:00", "--reserve", "30"])
    out, err = capsys.readouterr()
    assert code == 0, err
    problem = json.loads(out)
    assert problem["start"] == "2026-03-02T09:00:00+00:00"
    assert len(problem["pv_w"]) == 13  # 12 hours from 09:10 end in the slot from 21:00
    assert problem["grid"]["import_price"] == [0.3] * 13
    assert problem["battery"]["capacity_wh"] == 10_000
    assert problem["battery"]["soc_pct"] == 55
    assert problem["battery"]["reserve_pct"] == [30.0] * 13
    assert "'Inverter' (modbus): none of its entities is among the states: left out" in err


def test_a_device_without_its_entities_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, "entry.json", ENTRY)
    code = main(["problem", "--config", config, "--now", "2026-03-02T09:00:00+00:00"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["battery"] is None


def test_no_prices_means_nothing_to_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {**ENTRY, "options": {**ENTRY["options"], "tariff_source": "entity"}}
    entry["options"]["price_entities"] = ["sensor.prices"]
    config = _write(tmp_path, "entry.json", entry)
    assert main(["problem", "--config", config]) == 1
    _, err = capsys.readouterr()
    assert "no usable prices" in err


def test_the_whole_store_is_read_and_one_site_picked(tmp_path: Path) -> None:
    other = {**ENTRY, "entry_id": "site2"}
    unrelated = {"entry_id": "x", "domain": "met", "data": {}}
    store = {"version": 1, "data": {"entries": [unrelated, ENTRY, other]}}
    path = _write(tmp_path, "core.config_entries", store)
    assert read_entry(path, "site2")["entry_id"] == "site2"
    with pytest.raises(BadInput, match="several GridNode entries"):
        read_entry(path, None)
    with pytest.raises(BadInput, match="no GridNode entry with entry id nope"):
        read_entry(path, "nope")
    only = _write(tmp_path, "one", {"data": {"entries": [ENTRY]}})
    entry = read_entry(only, None)
    assert entry["subentries"][0]["unique_id"] is None
    assert entry["discovery_keys"] == {}


BAD_ENTRIES: list[tuple[Any, str]] = [
    ("{not json", "not JSON"),
    ([1, 2], "neither a config entry"),
    ({"data": {"entries": "x"}}, "neither a config entry"),
    ({**ENTRY, "domain": "met"}, "not GridNode's"),
    ({**ENTRY, "title": 3}, "'title' is not text"),
    ({**ENTRY, "options": []}, "'options' is not an object"),
    ({**ENTRY, "version": True}, "'version' is not a whole number"),
    ({**ENTRY, "subentries": {}}, "'subentries' is not a list"),
    ({**ENTRY, "subentries": [{"title": "x"}]}, "subentry 0 has no 'data'"),
    ({**ENTRY, "subentries": [{"data": {}, "title": "x"}]}, "'subentry_id' is not text"),
    ({**ENTRY, "created_at": "yesterday"}, "cannot be loaded"),
    ({**ENTRY, "data": {}}, "site's settings cannot be read"),
]


@pytest.mark.parametrize(("content", "message"), BAD_ENTRIES)
def test_a_bad_entry_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    config = _write(tmp_path, "entry.json", content)
    assert main(["problem", "--config", config]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err
    assert err.count("\n") == 1
    assert err.startswith("error: ")


BAD_STATES: list[tuple[Any, str]] = [
    ([], "not an object of entity ids"),
    ({"nodot": "1"}, "not an entity id"),
    ({"sensor.a": {"state": None}}, "state is not text or a number"),
    ({"sensor.a": {"state": "1", "attributes": []}}, "attributes are not an object"),
    ({"Sensor.Bad Id": "1"}, "states: Sensor.Bad Id"),
    ({"sensor.a": "x" * 300}, "states: sensor.a"),
]


@pytest.mark.parametrize(("content", "message"), BAD_STATES)
def test_bad_states_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    config = _write(tmp_path, "entry.json", ENTRY)
    states = _write(tmp_path, "states.json", content)
    assert main(["problem", "--config", config, "--states", states]) == 2
    _, err = capsys.readouterr()
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "tomorrow"], "not an ISO 8601 time"),
        (["--now", "2026-03-02T09:00:00"], "give a UTC offset"),
        (["--reserve", "120"], "give 0 to 100"),
        (["--time-zone", "Mars/Olympus"], "not a time zone"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = _write(tmp_path, "entry.json", ENTRY)
    assert main(["problem", "--config", config, *args]) == 2
    _, err = capsys.readouterr()
    assert message in err


def test_plain_states_and_missing_files(tmp_path: Path) -> None:
    states = read_states(_write(tmp_path, "s.json", {"sensor.a": 5, "sensor.b": "on"}))
    assert states["sensor.a"].state == "5"
    assert dict(states["sensor.b"].attributes) == {}
    assert read_states(None) == {}
    with pytest.raises(BadInput, match="cannot be read"):
        read_states(str(tmp_path / "missing.json"))
    with pytest.raises(BadInput, match="finite"):
        read_states(_write(tmp_path, "n.json", '{"sensor.a": NaN}'))


def test_a_device_whose_settings_cannot_be_read_is_left_out_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {**ENTRY["subentries"][0], "data": {"role": "battery", "soc_entity": "sensor.soc"}}
    config = _write(tmp_path, "entry.json", {**ENTRY, "subentries": [broken]})
    states = _write(tmp_path, "states.json", STATES)
    assert main(["problem", "--config", config, "--states", states]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["battery"] is None
    assert "device 'Battery' cannot be built" in err
