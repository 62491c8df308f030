"""``std/c2pa``: the C2PA manifest of an image, read and validated by the C2PA library.

Cameras from Sony, Leica and Google sign photos at capture with a C2PA manifest: a claim,
signed with the device's certificate, that binds assertions (the capture device's EXIF
fields, the actions taken) to a hash of the pixels. This operation hands the image to the
maintained C2PA library for Python (``c2pa-python``, the ``c2pa`` extra) and gives the facts
as one map; whatever fails is in the map too, never an exception::

    {"valid": bool,              # signature, hash binding and (with anchors) trust all hold
     "state": "trusted" | "valid" | "invalid" | "no-manifest" | "unreadable",
     "failures": [{"code": str, "explanation": str}],
     "claim_generator": str | null, "title": str | null,
     "signer": {"common_name", "issuer", "alg", "serial"} | null,
     "exif": {field: value}}     # the signed stds.exif assertion, prefixes dropped

Config ``trust_anchors``: the PEM certificates of the roots to trust (part of the hashed
workflow, so a workflow names whose signatures count). Empty: any chain that validates is
``valid`` but never ``trusted``, and ``valid`` is then true without trust.

Deterministic for an image and its anchors, with one caveat a C2PA reader shares: a
certificate is checked against the time of signing (or now, without a timestamp), so the
same image read after its certificate expired may be ``invalid``.
"""

from __future__ import annotations

from typing import Any

from catenary.operations.decorator import operation


@operation("std/c2pa", inputs=["bytes"], output="map", config={"trust_anchors": []},
           groups=["std", "image"])
def c2pa(data: bytes, trust_anchors: str = "") -> dict[str, Any]:
    """The C2PA manifest of a JPEG or PNG image, validated (signature, hash binding to the
    pixels, certificate chain against config trust_anchors), as a map of facts and failures."""
    from catenary.operations.c2pa_reader import read_c2pa  # imports the C2PA library when used

    return read_c2pa(data, trust_anchors)
