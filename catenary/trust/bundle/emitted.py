"""The emitted events a bundle carries (issue 17): those that started the runs of its
executions, each with its emitter's signature, so that the trace's first event is checked
offline too, and a result event's ``source`` (the upstream execution) is in the bundle with
the output the event's data names.

Index key ``emitted``: links to ``{event: link, signature: bytes}`` blocks; ``event`` links
the record (docs/hashing.md), which links its data value.
"""

from __future__ import annotations

from typing import Any

from catenary.cid import CID
from catenary.errors import CatenaryError
from catenary.events import check
from catenary.model.emitted import EmittedEvent, SignedEvent
from catenary.trust.bundle.read import Bundle, Reader, read_value

INDEX_KEY = "emitted"


def read(reader: Reader, bundle: Bundle, links: Any) -> None:
    """Read and check the emitted events the index lists into ``bundle.emitted``."""
    if not isinstance(links, list):
        reader.problem("bundle index: emitted must be a list of links")
        return
    for link in links:
        meta = reader.get(link, "emitted event metadata")
        if meta is None:
            continue
        if not (
            isinstance(meta, dict)
            and set(meta) == {"event", "signature"}
            and isinstance(meta["event"], CID)
            and isinstance(meta["signature"], bytes)
        ):
            reader.problem(f"emitted event metadata {link}: expected {{event: link, signature: bytes}}")
            continue
        cid = meta["event"]
        event = reader.parse(
            cid, f"emitted event of metadata {link}", EmittedEvent.from_data, f"emitted event {cid}"
        )
        if event is None:
            continue
        signed = SignedEvent(event, meta["signature"])
        try:
            check(signed)
        except CatenaryError as exc:
            reader.problem(f"emitted event {cid}: {exc}")
            continue
        read_value(reader, bundle, event.data, f"data of emitted event {cid}")
        bundle.emitted[cid] = signed


def link(reader: Reader, bundle: Bundle) -> None:
    """A result event's source is in the bundle and its output is the event's data; every
    run input event's cause that the bundle carries is an emitted event of it."""
    for cid, signed in bundle.emitted.items():
        source = signed.event.source
        if source is None:
            continue
        upstream = bundle.executions.get(source)
        if upstream is None:
            reader.problem(f"emitted event {cid}: its source execution {source} is not in the bundle")
        elif upstream.output != signed.event.data:
            reader.problem(
                f"emitted event {cid}: its data {signed.event.data} is not the output of its "
                f"source execution {source} ({upstream.output})"
            )
