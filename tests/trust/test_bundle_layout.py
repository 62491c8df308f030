"""The table of block shapes (catenary.trust.bundle.layout) against real bundles: every
block an export writes fits its row, and a field of the wrong type is refused by name."""

from __future__ import annotations

import pytest

from catenary.cid import cid_of
from catenary.trust.bundle import layout
from tests.trust.conftest import Car

WRONG = 1.5  # a float: no field of a bundle block holds one, except the times


def test_every_block_an_export_writes_fits_its_shape(finished, bundle) -> None:
    node, _, result = finished
    car = Car(bundle)
    index = car.index
    seen = {"bundle index": [index]}
    for link in index["executions"]:
        meta = car.value(link)
        seen.setdefault("execution metadata", []).append(meta)
        pre = car.value(meta["execution"])
        seen.setdefault("execution", []).append(pre)
        for parent in pre["parents"]:
            if node.store.get_event(parent) is not None:
                seen.setdefault("event", []).append(car.value(parent))
    for link in index["runs"]:
        meta = car.value(link)
        seen.setdefault("run metadata", []).append(meta)
        seen.setdefault("run", []).append(car.value(meta["run"]))
        seen.setdefault("run output", []).extend(meta["outputs"])
    version = car.value(node.executions.get(result.final).operation)
    seen["operation version"] = [version]
    assert set(seen) == set(layout.SHAPES)
    for kind, blocks in seen.items():
        for value in blocks:
            assert set(value) == layout.keys(kind) and layout.fits(kind, value), (kind, value)


@pytest.mark.parametrize(
    "field", sorted(k for k, check in layout.SHAPES["execution metadata"].items() if not check(WRONG))
)
def test_a_metadata_field_of_the_wrong_type_is_refused(finished, bundle, node_b, field: str) -> None:
    _, _, result = finished
    car = Car(bundle)
    link = car.meta_of(result.final)
    car.replace(link, {**car.value(link), field: WRONG})
    report = node_b.trust.verify_bundle(car.bytes())
    assert not report.ok
    assert any(
        f"execution {result.final}: its metadata block" in p and "wrong type" in p for p in report.problems
    ), report.problems


def test_checks_accept_null_only_where_the_format_has_it() -> None:
    nullable = {k for k, check in layout.SHAPES["execution metadata"].items() if check(None)}
    assert nullable == {
        "execution",
        "output",
        "error",
        "executor",
        "cached_from",
        "started_at",
        "finished_at",
    }
    assert not layout.SHAPES["execution"]["segment"](True)  # a bool is not an int
    assert layout.SHAPES["execution"]["parents"]([cid_of("x")])
    assert not layout.SHAPES["execution"]["parents"]([str(cid_of("x"))])  # text is not a link
