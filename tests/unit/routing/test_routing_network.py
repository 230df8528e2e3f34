"""Build road graphs offline from real OSM extracts and check the matrices."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from routing.network import (
    _speed_kph,
    file_sha256,
    load_network,
    network_matrices,
    pbf_to_filtered_xml,
    street_points,
    travel_matrices,
)
from tests.unit.routing.instances import DATA, ROOT

PARIS = DATA / "paris_bss.osm.pbf"
MONACO = ROOT / "data" / "monaco.osm.pbf"


def test_clipped_extract_loads_by_splitting_ways(tmp_path: Path) -> None:
    # 84 of the Paris extract's drive ways reference nodes outside the file.
    n = pbf_to_filtered_xml(PARIS, tmp_path / "drive.osm", "drive")
    assert n >= 417  # runs of present nodes; a way cut at both ends stays one way
    net = load_network(PARIS, "drive", tmp_path)
    assert 250 <= net.n_nodes <= 350  # research note: 301 nodes in the largest SCC


def test_cache_is_keyed_by_file_hash(road_cache: Path) -> None:
    load_network(PARIS, "walk", road_cache)
    digest = file_sha256(PARIS)
    files = list(road_cache.glob(f"roads-{digest[:24]}-walk-*.npz"))
    assert len(files) == 1


@pytest.mark.parametrize(
    ("maxspeed", "highway", "kph"),
    [
        ("FR:urban", "primary", 45.0),
        ("FR:zone30", "primary", 30.0),
        ("FR:motorway", "motorway", 110.0),
        (None, "residential", 30.0),
        (["FR:zone30", "50"], "secondary", 40.0),
        ("20 mph", "tertiary", 20 * 1.609344),
    ],
)
def test_french_speed_tags_are_mapped(maxspeed: object, highway: str, kph: float) -> None:
    assert _speed_kph(maxspeed, highway) == pytest.approx(kph)


def test_matrix_agrees_with_networkx(road_cache: Path) -> None:
    net = load_network(PARIS, "drive", road_cache)
    rng = np.random.default_rng(1)
    idx = rng.choice(net.n_nodes, 12, replace=False)
    pts = [(float(net.lat[i]), float(net.lon[i])) for i in idx]
    secs, metres = network_matrices(net, pts)
    g = nx.DiGraph()
    for u, v, w in zip(net.src, net.dst, net.seconds, strict=True):
        g.add_edge(int(u), int(v), weight=float(w))
    for a, i in enumerate(idx):
        dist = nx.single_source_dijkstra_path_length(g, int(i))
        for b, j in enumerate(idx):
            assert abs(secs[a, b] - dist[int(j)]) <= 1
    assert (np.diag(secs) == 0).all()
    assert (metres[secs > 0] > 0).all()


def test_far_points_fall_back_to_geodesic(road_cache: Path) -> None:
    net = load_network(PARIS, "drive", road_cache)
    near = (float(net.lat[0]), float(net.lon[0]))
    far = (48.95, 2.45)  # about 10 km away, off this extract
    secs, metres = network_matrices(net, [near, far], detour=1.3)
    assert 10_000 < metres[0, 1] < 20_000
    assert secs[0, 1] == pytest.approx(metres[0, 1] / (30 / 3.6), rel=0.01)


def test_travel_matrices_for_several_modes(road_cache: Path) -> None:
    net = load_network(PARIS, "drive", road_cache)
    pts = [(float(net.lat[i]), float(net.lon[i])) for i in (0, 10, 20)]
    out = travel_matrices(pts, ["drive", "walk"], road_cache, pbf=PARIS, access_s=120)
    assert set(out) == {"drive", "walk"}
    walk_s, _ = out["walk"]
    drive_s, _ = out["drive"]
    assert (walk_s[~np.eye(3, dtype=bool)] >= 120).all()
    assert walk_s.sum() > drive_s.sum()


def test_street_points_around_monaco(road_cache: Path) -> None:
    pts = street_points(MONACO, 75, seed=0, cache_dir=road_cache)
    assert len(pts) == 75
    # Monaco proper lies west of 7.4399 and south of 43.7519 only between these bounds;
    # every sample must be in Beausoleil, Cap-d'Ail or Roquebrune-Cap-Martin.
    for lat, lon in pts:
        assert 43.71 < lat < 43.78
        assert 7.38 < lon < 7.50
    assert street_points(MONACO, 75, seed=0, cache_dir=road_cache) == pts
