"""Make a C2PA-signed test photo, as a camera that signs at capture would.

THIS IS A TEST SIGNER. It makes a throwaway certificate chain ("catenary demo TEST root" ->
"catenary demo TEST camera CX1-004217", organisation "TEST ONLY - not a real camera"), signs a
small JPEG with it (a C2PA manifest whose stds.exif assertion names the body and lens serials),
and writes next to it an edited copy (pixels changed after signing) and a second, unrelated
test root (a wrong chain). No real camera, vendor or trust list is involved.

    python make_c2pa_photo.py OUT_DIR --body-serial CX1-004217 --lens-serial L35-99812

writes OUT_DIR/signed.jpg, edited.jpg, test-root.pem, other-root.pem.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

TEST_ORG = "TEST ONLY - not a real camera"
_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_YEARS = dt.timedelta(days=365 * 20)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORG),
        ]
    )


def _usage(signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def test_root(common: str = "catenary demo TEST root") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_START)
        .not_valid_after(_START + _YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_signer(
    root_key: ec.EllipticCurvePrivateKey, root: x509.Certificate, common: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_START)
        .not_valid_after(_START + _YEARS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signer=True), critical=True)
        # C2PA accepts a signing certificate with the email-protection purpose.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    return key, cert


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sign_photo(body: str, lens: str) -> tuple[bytes, str]:
    """A signed JPEG and the PEM of the test root it chains to."""
    import c2pa

    root_key, root = test_root()
    key, cert = test_signer(root_key, root, f"catenary demo TEST camera {body}")

    def sign(data: bytes) -> bytes:  # ES256 as COSE wants it: r || s
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    signer = c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, pem(cert) + pem(root), None)
    photo = io.BytesIO()
    Image.new("RGB", (96, 64), (180, 120, 60)).save(photo, "JPEG", quality=90)
    photo.seek(0)
    manifest = {
        "claim_generator_info": [{"name": "catenary demo TEST camera", "version": "1.0"}],
        "title": "photo.jpg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                        }
                    ]
                },
            },
            {
                "label": "stds.exif",
                "data": {
                    "@context": {
                        "tiff": "http://ns.adobe.com/tiff/1.0/",
                        "exifEX": "http://cipa.jp/exif/2.32/",
                    },
                    "tiff:Make": "Catenary TEST",
                    "tiff:Model": "CX1",
                    "exifEX:BodySerialNumber": body,
                    "exifEX:LensSerialNumber": lens,
                },
            },
        ],
    }
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", photo, out)
    return out.getvalue(), pem(root)


def edited(signed: bytes) -> bytes:
    """The signed photo with one byte of its compressed pixels changed (the manifest kept)."""
    data = bytearray(signed)
    position = len(data) - 64  # inside the scan data, before the end-of-image marker
    data[position] ^= 0x55
    return bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--body-serial", required=True)
    parser.add_argument("--lens-serial", required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    signed, root = sign_photo(args.body_serial, args.lens_serial)
    (args.out / "signed.jpg").write_bytes(signed)
    (args.out / "edited.jpg").write_bytes(edited(signed))
    (args.out / "test-root.pem").write_text(root)
    (args.out / "other-root.pem").write_text(pem(test_root("catenary demo OTHER TEST root")[1]))
    print(
        f"TEST signer: {args.out}/signed.jpg signed by a throwaway chain ({TEST_ORG}); "
        f"{args.out}/edited.jpg has its pixels changed after signing"
    )


if __name__ == "__main__":
    main()
