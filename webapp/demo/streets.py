"""Extract named street positions in the French communes of the Monaco extract.

Run once with ``flask demo extract-streets``; the result, ``data/demo_streets.csv``, is derived
from OpenStreetMap data (© OpenStreetMap contributors, ODbL) and ships with the code.
"""

from __future__ import annotations

import csv
from pathlib import Path

import osmium
from shapely import wkb
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

POSTCODES = {
    "Beausoleil": "06240",
    "Roquebrune-Cap-Martin": "06190",
    "Cap-d'Ail": "06320",
    "La Turbie": "06320",
    "Èze": "06360",
}
STREET_TYPES = {"residential", "living_street", "tertiary", "unclassified", "secondary"}
# Èze's and Roquebrune's boundaries are clipped in the extract: tell them apart by longitude,
# once Monaco and the three complete communes are ruled out.
EAST_OF_MONACO_LON = 7.44
WEST_OF_CAP_DAIL_LON = 7.385


def _boundaries(pbf: Path) -> dict[str, BaseGeometry]:
    factory = osmium.geom.WKBFactory()
    wanted = set(POSTCODES) | {"Monaco"}
    polygons: dict[str, BaseGeometry] = {}
    processor = osmium.FileProcessor(str(pbf)).with_areas().with_filter(
        osmium.filter.KeyFilter("boundary"))
    for obj in processor:
        if not (obj.is_area() and obj.tags.get("admin_level") in ("2", "8")):
            continue
        name = obj.tags.get("name")
        if name in wanted and name not in polygons:
            try:
                polygons[name] = wkb.loads(factory.create_multipolygon(obj), hex=True)
            except RuntimeError:  # clipped boundary in the extract
                continue
    return polygons


def commune_of(lat: float, lon: float, polygons: dict[str, BaseGeometry]) -> str | None:
    """Return the French commune holding the point, or None (Monaco or outside)."""
    point = Point(lon, lat)
    monaco = polygons.get("Monaco")
    if monaco is not None and monaco.contains(point):
        return None
    for name, polygon in polygons.items():
        if name != "Monaco" and polygon.contains(point):
            return name
    if lon > EAST_OF_MONACO_LON:
        return "Roquebrune-Cap-Martin"
    if lon < WEST_OF_CAP_DAIL_LON:
        return "Èze"
    return None


def extract_streets(pbf: Path, out: Path, per_street: int = 3) -> int:
    """Write up to ``per_street`` positions per named street to ``out``; return the row count."""
    polygons = _boundaries(pbf)
    rows: list[tuple[str, str, str, float, float]] = []
    seen: dict[tuple[str, str], int] = {}
    processor = osmium.FileProcessor(str(pbf)).with_locations().with_filter(
        osmium.filter.KeyFilter("highway"))
    for obj in processor:
        if not obj.is_way() or obj.tags.get("highway") not in STREET_TYPES:
            continue
        name = obj.tags.get("name")
        nodes = [n for n in obj.nodes if n.location.valid()]
        if not name or len(nodes) < 2:
            continue
        for node in (nodes[len(nodes) // 2], nodes[0], nodes[-1]):
            lat, lon = round(node.location.lat, 6), round(node.location.lon, 6)
            commune = commune_of(lat, lon, polygons)
            key = (name, commune or "")
            if commune is None or seen.get(key, 0) >= per_street:
                continue
            seen[key] = seen.get(key, 0) + 1
            rows.append((name, commune, POSTCODES[commune], lat, lon))
    rows.sort()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["street", "commune", "postcode", "lat", "lon"])
        writer.writerows(rows)
    return len(rows)
