"""The country's regions with a centre point, for placing programmes on a map.

``data/regions.csv`` has the reference shape ``Name,Country,Latitude,Longitude,Language``
(a copy of the demo country's file; a deployment brings its own). Names match
case-insensitively and ignoring surrounding blanks.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REGIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "regions.csv"


@dataclass(frozen=True)
class Region:
    name: str
    country: str
    latitude: float
    longitude: float


def region_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def load_regions(path: Path) -> dict[str, Region]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, Region] = {}
    for row in rows:
        region = Region(
            row["Name"].strip(),
            row["Country"].strip(),
            float(row["Latitude"]),
            float(row["Longitude"]),
        )
        out.setdefault(region_key(region.name), region)
    return out


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    return load_regions(REGIONS_CSV)


def find_region(name: str) -> Region | None:
    return regions().get(region_key(name))
