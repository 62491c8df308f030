"""The work behind ``std/c2pa`` (catenary/operations/c2pa.py), kept apart so that the C2PA
library is imported only when an image is read."""

from __future__ import annotations

import io
import json
import math
from typing import Any

from catenary.extras import require_extra

_FORMATS = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
_PREFIXES = ("exif:", "exifEX:", "tiff:", "xmp:", "photoshop:", "dc:")


def _facts(
    state: str, failures: list[dict[str, str]], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    manifest = manifest or {}
    info = manifest.get("signature_info") or None
    generator = manifest.get("claim_generator_info") or []
    names = [
        " ".join(str(g.get(k)) for k in ("name", "version") if g.get(k))
        for g in generator
        if isinstance(g, dict)
    ]
    exif: dict[str, Any] = {}
    for assertion in manifest.get("assertions") or []:
        if isinstance(assertion, dict) and assertion.get("label") == "stds.exif":
            for key, value in (assertion.get("data") or {}).items():
                if key != "@context":
                    exif[_unprefixed(key)] = _plain(value)
    return {
        "valid": state in ("trusted", "valid") and not failures,
        "state": state,
        "failures": failures,
        "claim_generator": names[0] if names else manifest.get("claim_generator"),
        "title": manifest.get("title"),
        "signer": None
        if not info
        else {
            "common_name": info.get("common_name"),
            "issuer": info.get("issuer"),
            "alg": info.get("alg"),
            "serial": info.get("cert_serial_number"),
        },
        "exif": exif,
    }


def read_c2pa(data: bytes, trust_anchors: str = "") -> dict[str, Any]:
    fmt = next((mime for magic, mime in _FORMATS if data.startswith(magic)), None)
    if fmt is None:
        return _facts("unreadable", [{"code": "image.unsupported", "explanation": "not a JPEG or PNG image"}])
    # A missing library is an error, not a map: a node without it must not give a result.
    require_extra("c2pa")
    import c2pa as lib

    if trust_anchors:
        from cryptography import x509

        try:
            x509.load_pem_x509_certificates(trust_anchors.encode("utf-8"))
        except ValueError as exc:
            return _facts(
                "unreadable",
                [
                    {
                        "code": "trust_anchors.invalid",
                        "explanation": f"config trust_anchors is not PEM certificates: {exc}",
                    }
                ],
            )
    settings: dict[str, Any] = {"verify": {"verify_trust": bool(trust_anchors)}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        context = lib.Context.from_dict(settings)
    except lib.C2paError as exc:
        return _facts(
            "unreadable",
            [{"code": "trust_anchors.invalid", "explanation": f"config trust_anchors is not PEM: {exc}"}],
        )
    try:
        reader = lib.Reader(fmt, io.BytesIO(data), context=context)
    except lib.C2paError.ManifestNotFound:
        return _facts(
            "no-manifest", [{"code": "manifest.missing", "explanation": "the image carries no C2PA manifest"}]
        )
    except lib.C2paError as exc:
        return _facts(
            "unreadable", [{"code": "manifest.unreadable", "explanation": f"{type(exc).__name__}: {exc}"}]
        )
    with reader:
        state = (reader.get_validation_state() or "Invalid").lower()
        results = reader.get_validation_results() or {}
        manifest = reader.get_active_manifest()
    failures = [
        {"code": str(f.get("code")), "explanation": str(f.get("explanation", ""))}
        for f in (results.get("activeManifest") or {}).get("failure") or []
    ]
    if trust_anchors and state == "valid" and not any("untrusted" in f["code"] for f in failures):
        failures.append(
            {
                "code": "signingCredential.untrusted",
                "explanation": "the signer's chain does not lead to the configured trust anchors",
            }
        )
    if state == "invalid" and not failures:
        failures.append(
            {"code": "manifest.invalid", "explanation": "the C2PA library found the manifest invalid"}
        )
    return _facts(state, failures, manifest)


def _unprefixed(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _plain(value: Any) -> Any:
    """JSON from the manifest as DAG-CBOR-safe data (no NaN, no floats that are integers)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, bool)) or value is None else json.dumps(value)
