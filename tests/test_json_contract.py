"""Issue 19 item 9: ``--json`` is a contract (docs/json.md). One test per surface pins its key
set and the type of each key (pipx ``tests/test_result_contract.py``): a key renamed, removed or
retyped fails here; a key added must be added here and in docs/json.md. Objects carry
``json_version`` first; arrays keep their shape, and ``TELEMETRY_JSON_VERSION`` pins them."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry, fill
from telemetry_gate.vocabulary import JSON_VERSION

STR, INT, BOOL, LIST, DICT, NONE = str, int, bool, list, dict, type(None)
Spec = dict[str, Any]  # key -> a type or a tuple of types


def _shape(obj: Any, spec: Spec) -> None:
    """``obj`` is an object with exactly ``spec``'s keys, each of its type(s)."""
    assert isinstance(obj, dict), obj
    assert set(obj) == set(spec), (sorted(set(obj) - set(spec)), sorted(set(spec) - set(obj)))
    for key, kind in spec.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        value = obj[key]
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and BOOL not in kinds)
        assert ok, f"{key}: {value!r} is not {kinds}"


def _object(out: Any) -> dict[str, Any]:
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert next(iter(data)) == "json_version" and data["json_version"] == JSON_VERSION == 1
    return data


def _array(out: Any) -> list[Any]:
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert isinstance(data, list) and data
    return data


DECISION: Spec = {"enabled": BOOL, "origin": STR, "layer": STR}
RECORD: Spec = {"schema": INT, "id": STR, "vendor": STR, "product": STR, "version": STR, "event": STR,
                "category": STR, "created": STR, "metrics": DICT, "context": DICT}
CONTEXT: Spec = {"os": STR, "os_release": STR, "arch": STR, "python": STR, "cpus": (INT, NONE),
                 "memory_bytes": (INT, NONE)}


def test_check(inprocess: Telemetry, isolation: Env) -> None:
    fill(1)  # cellranger is known (its records) and has switches of its own
    data = _object(inprocess("check", "--json"))
    _shape(data, {"json_version": INT, "vendor": STR, "facets": DICT, "products": DICT, "drift": LIST,
                  "spool": DICT, "notes": LIST, "held": DICT})
    assert set(data["facets"]) == {"collection", "upload", "update"}
    for decision in data["facets"].values():
        _shape(decision, DECISION)
    product = data["products"]["cellranger"]
    _shape(product, {"collection": DICT, "upload": DICT, "update": DICT, "native": LIST})
    _shape(product["native"][0], {"kind": STR, "where": STR, "value": (STR, NONE), "effect": STR, "agrees": BOOL,
                                  "stricter": BOOL, "facets": LIST, "scope": STR, "source": STR,
                                  "outranked_by": (STR, NONE)})
    _shape(data["spool"], {"pending": INT, "bytes": INT, "dropped": INT, "oldest": (STR, NONE), "rejected": INT,
                           "unreadable": (STR, NONE)})
    assert all(isinstance(note, str) for note in data["notes"])
    explained = _object(inprocess("check", "--explain", "--json"))
    _shape(explained["facets"]["upload"], {**DECISION, "chain": LIST})
    for say in explained["facets"]["upload"]["chain"]:
        _shape(say, {"rank": INT, "layer": STR, "source": STR, "says": (STR, NONE)})


def test_check_history(inprocess: Telemetry, isolation: Env) -> None:
    assert inprocess("disable", "-p", "cellranger").exit_code == 0
    entries = _array(inprocess("check", "--history", "--json"))
    _shape(entries[0], {"time": STR, "user": STR, "uid": INT, "sudo_user": (STR, NONE), "action": STR,
                        "scope": STR, "facet": STR, "product": (STR, NONE), "before": DICT, "after": DICT,
                        "written": LIST, "native": LIST, "environment": LIST, "id": STR, "file": STR})
    _shape(entries[0]["after"]["upload"], {"enabled": BOOL, "origin": STR})
    _shape(entries[0]["native"][0], {"product": STR, "kind": STR, "where": STR, "action": STR,
                                     "value": (STR, NONE), "covers": LIST, "done": BOOL, "ahead": BOOL})


SEND_PRODUCT: Spec = {"sent": INT, "rejected": INT, "pending": INT, "endpoint": (STR, NONE), "format": (STR, NONE),
                      "disabled_by": (STR, NONE), "error": (STR, NONE), "problem": (STR, NONE),
                      "audit_error": (STR, NONE), "rejected_statuses": DICT, "notes": LIST}


def test_send(inprocess: Telemetry, isolation: Env) -> None:
    fill(2)
    with Collector() as collector:
        data = _object(inprocess("send", "--json", "--endpoint", collector.url))
    _shape(data, {"json_version": INT, "dry_run": BOOL, "sent": INT, "rejected": INT, "pending": INT,
                  "recovered": INT, "products": DICT})
    _shape(data["products"]["cellranger"], SEND_PRODUCT)
    assert data["sent"] == 2


def test_send_dry_run_lines(inprocess: Telemetry, isolation: Env) -> None:
    fill(1)
    out = inprocess("send", "--dry-run", "--json", "--format", "json", "--endpoint", "http://127.0.0.1:9")
    assert out.exit_code == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines and all(next(iter(line)) == "json_version" for line in lines)
    _shape(lines[0], {"json_version": INT, "product": STR, "url": STR, "records": INT, "body": DICT})


def test_products(inprocess: Telemetry, isolation: Env) -> None:
    data = _object(inprocess("products", "--json"))
    _shape(data, {"json_version": INT, "products": LIST, "errors": LIST})
    first = next(p for p in data["products"] if p["switches"])
    _shape(first, {"name": STR, "description": (STR, NONE), "manifest": STR, "installed": BOOL,
                   "homepage": (STR, NONE), "telemetry_docs": (STR, NONE), "limits": LIST, "switches": LIST,
                   "versions": STR, "version": (STR, NONE), "version_notes": LIST})
    _shape(first["switches"][0], {"kind": STR, "where": STR, "scope": STR, "facets": LIST, "state": STR,
                                  "covers": LIST, "source": STR, "note": (STR, NONE)})


def test_update(inprocess: Telemetry, isolation: Env) -> None:
    with Collector() as collector:
        collector.files["/labtool/config.json"] = Reply(200, body=b'{"disabled_fields": ["n"]}')
        folder = isolation.system_dir / "products.d"
        folder.mkdir(parents=True)
        (folder / "labtool.toml").write_text(f'[product]\nname = "labtool"\nversion = "1.0"\n'
                                             f'config_url = "{collector.url}/labtool/config.json"\n')
        entries = _array(inprocess("update", "--json", "--product", "labtool"))
    _shape(entries[0], {"product": STR, "state": STR, "detail": STR, "path": (STR, NONE), "turns_off": LIST,
                        "turns_on": LIST, "other_keys_changed": LIST, "dry_run": BOOL})
    assert entries[0]["state"] == "updated" and entries[0]["turns_off"] == ["n"]


def test_inspect_records_and_paths(inprocess: Telemetry, isolation: Env) -> None:
    fill(1)
    for out in (inprocess("inspect", "--json"),
                inprocess("inspect", str(isolation.spool / "pending" / "cellranger"), "--json")):
        record = _array(out)[0]
        _shape(record, RECORD)
        _shape(record["context"], CONTEXT)


def test_inspect_sent_and_rejected(inprocess: Telemetry, isolation: Env) -> None:
    fill(1)
    with Collector() as collector:
        assert inprocess("send", "--endpoint", collector.url).exit_code == 0
    _shape(_array(inprocess("inspect", "--sent", "--json"))[0],
           {"id": STR, "product": STR, "sent_at": STR, "endpoint": STR, "status": INT, "format": STR, "digest": STR})
    fill(1)
    with Collector([Reply(400, body=b"no")]) as collector:
        assert inprocess("send", "--endpoint", collector.url).exit_code == 5
    _shape(_array(inprocess("inspect", "--rejected", "--json"))[0],
           {**RECORD, "rejected_status": INT, "rejected_answer": STR, "rejected_at": STR, "rejected_endpoint": STR})


def test_inspect_catalog(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "labtool.toml").write_text('[product]\nname = "labtool"\n\n[fields.n]\ncategory = "usage"\n'
                                         'description = "A count"\nexample = "3"\n')
    manifest = next(m for m in _array(inprocess("inspect", "--catalog", "--json")) if m["product"] == "labtool")
    _shape(manifest, {"product": STR, "description": (STR, NONE), "source": STR, "strict": BOOL, "fields": LIST,
                      "opt_in": BOOL, "privacy_url": (STR, NONE), "retention": (STR, NONE), "contact": (STR, NONE),
                      "limits": LIST, "telemetry_docs": (STR, NONE)})
    _shape(manifest["fields"][0], {"name": STR, "category": STR, "description": STR, "example": STR,
                                   "disabled": BOOL})


def test_inspect_saved(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.home / ".cache" / "tenx" / "telemetry" / "cellranger" / "10.0.0"
    folder.mkdir(parents=True)
    stamp = time.strftime("%Y-%m-%dT%H_%M_%SZ", time.gmtime())
    event = {"properties": {"cpu_count": 8}, "group_hash": base64.b64encode(b"x" * 32).decode(), "name": "count",
             "product": "cellranger", "version": "10.0.0", "config_version": 1}
    path = folder / f"count_{stamp}1234.json"
    path.write_text(json.dumps(event, separators=(",", ":")))
    os.chmod(path, 0o600)
    shown = _array(inprocess("inspect", "--saved", "--json"))[0]
    _shape(shown, {"file": STR, "saved_at": STR, "size": INT, "product": STR, "version": STR, "name": STR,
                   "sent": (STR, NONE), "sha256": STR, "event": DICT})
    assert inprocess("disable", "upload", "-p", "cellranger").exit_code == 0  # held while upload is off
    held = _object(inprocess("check", "--json"))["held"]
    _shape(held["cellranger"], {"events": INT, "release": STR, "refused_by": (STR, NONE)})


def test_send_saved(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.home / ".cache" / "tenx" / "telemetry" / "cellranger" / "10.0.0"
    folder.mkdir(parents=True)
    stamp = time.strftime("%Y-%m-%dT%H_%M_%SZ", time.gmtime())
    event = {"properties": {}, "group_hash": "", "name": "count", "product": "cellranger", "version": "10.0.0",
             "config_version": 1}
    (folder / f"count_{stamp}1234.json").write_text(json.dumps(event, separators=(",", ":")))
    assert inprocess("disable", "upload", "-p", "cellranger").exit_code == 0
    with Collector() as collector:
        data = _object(inprocess("send", "--saved", "--yes", "--json", "--endpoint", f"{collector.url}/e"))
    _shape(data, {"json_version": INT, "dry_run": BOOL, "already": INT, "passed_over": LIST, "events": LIST})
    _shape(data["events"][0], {"file": STR, "product": STR, "url": STR, "outcome": STR, "status": (INT, NONE),
                               "detail": (STR, NONE), "sha256": STR})


@pytest.mark.parametrize("args", [["check", "--json"], ["inspect", "--json"], ["send", "--json"],
                                  ["check", "--history", "--json"], ["update", "--json"], ["products", "--json"]])
def test_a_script_pins_the_version_it_reads(inprocess: Telemetry, isolation: Env, args: list[str]) -> None:
    fill(1)
    with Collector() as collector:
        out = inprocess(*args, env={"TELEMETRY_JSON_VERSION": "2", "TELEMETRY_ENDPOINT": collector.url})
        assert collector.connections == 0
        assert out.exit_code == 2 and out.stdout == ""
        assert out.stderr.splitlines()[0] == ("telemetry: TELEMETRY_JSON_VERSION='2' asks for JSON this "
                                              "telemetry-gate does not print: its --json output is version 1")
        assert len(isolation.pending()) == 1  # nothing sent
        env = {"TELEMETRY_JSON_VERSION": str(JSON_VERSION), "TELEMETRY_ENDPOINT": collector.url}
        pinned = inprocess(*args, env=env)
    assert pinned.exit_code == 0, pinned.stderr
    assert isinstance(json.loads(pinned.stdout), (dict, list))


def test_docs_name_every_surface() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "json.md").read_text()
    for surface in ("check --json", "check --history --json", "send --json", "send --dry-run --json",
                    "products --json", "update --json", "inspect --json", "inspect --sent --json",
                    "inspect --rejected --json", "inspect --catalog --json", "inspect --saved --json",
                    "send --saved --json",
                    "TELEMETRY_JSON_VERSION=1"):
        assert f"`{surface}`" in doc or f"`telemetry {surface}`" in doc, surface
