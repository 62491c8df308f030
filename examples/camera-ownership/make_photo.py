"""Write a small JPEG whose EXIF names a camera body and lens, with their serial numbers.

Usage: python make_photo.py OUT.jpg [--body-serial S] [--lens-serial S]
"""

from __future__ import annotations

import argparse

from PIL import Image, ImageDraw

EXIF_IFD = 0x8769
MAKE, MODEL = 0x010F, 0x0110
BODY_SERIAL, LENS_MAKE, LENS_MODEL, LENS_SERIAL = 0xA431, 0xA433, 0xA434, 0xA435


def make_photo(path: str, body_serial: str, lens_serial: str) -> None:
    image = Image.new("RGB", (96, 64), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 12, 66, 48), fill=(240, 200, 60))
    exif = Image.Exif()
    exif[MAKE] = "Catenary Optics"
    exif[MODEL] = "CX-1"
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[BODY_SERIAL] = body_serial
    ifd[LENS_MAKE] = "Catenary Optics"
    ifd[LENS_MODEL] = "35mm f/2"
    ifd[LENS_SERIAL] = lens_serial
    image.save(path, "JPEG", exif=exif, quality=85)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--body-serial", default="CX1-004217")
    parser.add_argument("--lens-serial", default="L35-99812")
    args = parser.parse_args()
    make_photo(args.out, args.body_serial, args.lens_serial)
