"""Verifying a bundle offline: its blocks, its records, the links between them, every
signature, and every execution this process can run, by re-execution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catenary.cid import CID
from catenary.cid.car import read_car
from catenary.errors import CatenaryError, UnreadableBundleError
from catenary.limits import shown
from catenary.operations import Registry
from catenary.statements import bundle as statement_blocks
from catenary.trust.bundle import emitted
from catenary.trust.bundle.layout import FORMAT
from catenary.trust.bundle.read import Bundle, Reader, read_blocks, read_event, read_records, read_workflow
from catenary.trust.verify import MISMATCH, UNVERIFIABLE, VERIFIED, Verdict, Verifier


@dataclass
class BundleReport:
    """The outcome of :func:`verify_bundle`: one verdict per execution, the problems found
    with the bundle itself (each naming its block or execution), and the overall verdict."""

    root: CID | None
    verdicts: list[Verdict]
    problems: list[str]
    blocks: int
    bundle: Bundle | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.verdicts) and all(v.ok for v in self.verdicts)

    @property
    def checked(self) -> bool:
        """Everything holds but what could not be re-executed here: every block, record,
        link and signature, and no re-execution disagreed (``import --no-reexecute``)."""
        return not self.problems and bool(self.verdicts) and all(v.verdict != MISMATCH for v in self.verdicts)

    @property
    def overall(self) -> str:
        if self.ok:
            return VERIFIED
        if not self.problems and self.verdicts and all(v.verdict != MISMATCH for v in self.verdicts):
            return UNVERIFIABLE
        return "failed"

    def summary(self) -> str:
        counts = {
            k: sum(1 for v in self.verdicts if v.verdict == k) for k in (VERIFIED, MISMATCH, UNVERIFIABLE)
        }
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        if self.problems:
            text += f"{'; ' if text else ''}{len(self.problems)} problem(s): " + "; ".join(self.problems[:3])
            if len(self.problems) > 3:
                text += f"; ... ({len(self.problems) - 3} more)"
        return text or "nothing to verify"


def verify_bundle(
    data: bytes, registry: Registry, on_progress: Callable[[int, int], None] | None = None
) -> BundleReport:
    """Check a bundle completely, offline: every block's CID against its bytes, every
    record's hash and key, the DAG's links, every signature, and every execution whose
    operation this process has, by re-execution.

    Raises UnreadableBundleError (exit 2) when the file is not a readable CAR / bundle;
    everything else is reported in the returned :class:`BundleReport`.
    """
    car = read_car(data)
    problems: list[str] = []
    blocks = read_blocks(car, problems)
    if len(car.roots) != 2:
        raise UnreadableBundleError(
            f"not a catenary bundle: the CAR has {len(car.roots)} root(s), "
            f"expected 2 (the execution, then the bundle index)"
        )
    root, index_cid = car.roots
    bundle = Bundle(root)
    bundle.blocks = blocks
    reader = Reader(blocks, problems)
    report = BundleReport(root, [], problems, len(car.blocks), bundle)
    index = reader.map(index_cid, "bundle index", "bundle index")
    if index is None:
        return report
    if index["format"] != FORMAT:
        reader.problem(f"bundle index {index_cid}: format {shown(index['format'])} is not {FORMAT!r}")
        return report
    if index["execution"] != root:
        reader.problem(
            f"bundle index {index_cid} names execution {index['execution']}, the CAR root is {root}"
        )
    if not isinstance(index["executions"], list) or not isinstance(index["runs"], list):
        reader.problem(f"bundle index {index_cid}: executions and runs must be lists of links")
        return report

    if statement_blocks.INDEX_KEY in index:
        bundle.statements = statement_blocks.read(reader, index[statement_blocks.INDEX_KEY])
    checks = read_records(reader, bundle, index)
    _link_executions(reader, bundle)
    if emitted.INDEX_KEY in index:
        emitted.read(reader, bundle, index[emitted.INDEX_KEY])
        emitted.link(reader, bundle)
    _link_runs(reader, bundle)
    verifier = Verifier(bundle, _with_modules(registry, bundle, reader))
    ordered = sorted(bundle.executions.values(), key=lambda e: (e.segment, e.step))
    for number, e in enumerate(ordered):
        report.verdicts.append(verifier.verify(e, checks.get(e.hash, ())))
        if on_progress:
            on_progress(number + 1, len(ordered))
    for cid in blocks:
        if cid not in reader.used and cid != index_cid:
            reader.problem(f"block {cid} is not linked from the bundle (unexpected extra block)")
    return report


def _link_executions(reader: Reader, bundle: Bundle) -> None:
    """The root has its metadata; each execution's parent events (read here) and run, and
    each event's run, are in the bundle."""
    if bundle.root not in bundle.executions:
        reader.problem(f"the root execution {bundle.root} has no metadata block in the bundle index")
    for e in list(bundle.executions.values()):
        for i, parent in enumerate(e.parents):
            if parent not in bundle.executions and parent not in bundle.events:
                read_event(reader, bundle, parent, lambda: f"parent {i} of execution {e.hash}")  # noqa: B023 - called at once
        if e.run not in bundle.runs:
            reader.problem(f"execution {e.hash}: its run {e.run} has no run block in the bundle index")
    for event in bundle.events.values():
        if event.run not in bundle.runs:
            reader.problem(f"event {event.hash}: its run {event.run} is not in the bundle")


def _link_runs(reader: Reader, bundle: Bundle) -> None:
    """Each run's workflow is in the bundle (read here), each segment output is what its
    producer recorded, and each execution belongs to its run's workflow."""
    for state in bundle.runs.values():
        if state.workflow not in bundle.workflows:
            read_workflow(reader, bundle, state.workflow)
        for out in state.outputs.values():
            producer = bundle.executions.get(out.producer)
            if producer is None:
                reader.problem(
                    f"run {state.id}: segment {out.segment}'s producer {out.producer} is not in the bundle"
                )
            elif producer.output != out.output or producer.segment != out.segment:
                reader.problem(
                    f"run {state.id}: segment {out.segment} output {out.output} is not what "
                    f"its producer {out.producer} recorded ({producer.output})"
                )
    for e in bundle.executions.values():
        run = bundle.runs.get(e.run)
        if run is not None and e.workflow != run.workflow:
            reader.problem(
                f"execution {e.hash}: its workflow {e.workflow} is not the workflow of its "
                f"run {e.run} ({run.workflow})"
            )


def _with_modules(registry: Registry, bundle: Bundle, reader: Reader) -> Registry:
    """``registry`` plus the bundle's WASM operations this process lacks, run from the module
    bytes in the bundle: a fresh node re-executes them with nothing installed. The caller's
    registry is not changed (verifying stores nothing). Each module is checked against
    catenary-wasm-abi/1 as ``op add`` would, and a refused one is a problem naming it."""
    wanted = [bundle.versions[v] for v in bundle.modules if registry.get(v) is None]
    if not wanted:
        return registry
    from catenary.operations import wasm  # imports wasmtime: only for a bundle with modules

    extended = Registry(list(registry))
    for op in wasm.load_stored(extended, wanted, bundle.blocks.get):
        try:
            op.module.probe()
        except CatenaryError as exc:
            reader.problem(f"{exc} (the module of {op.name}, version {op.version_id})")
    for manifest, version in wanted:
        if extended.get(version.id) is None:
            reader.problem(
                f"operation version {version.id} ({manifest.name}) is not "
                f'{{operation, implementation: {{kind: "wasm", module}}}} exactly; its '
                f"module cannot be run"
            )
    return extended
