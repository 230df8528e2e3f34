"""Build road graphs from an OSM file offline and compute travel-time matrices.

The graph is built once per file and mode with osmnx (from an XML file holding only the
ways osmnx's own network filter would fetch, written by pyosmium), reduced to its largest
strongly connected component, and cached as CSR-ready arrays in a ``.npz`` keyed by the
file's sha256, so the web app never rebuilds it in a request. Matrices come from
``scipy.sparse.csgraph.dijkstra`` over the unique snapped nodes; positions far from the
network fall back to the geodesic distance times a detour factor.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt

from routing.model import Mode

LatLon = tuple[float, float]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Bump when the cached arrays change meaning.
CACHE_VERSION = 2

#: French speed tags (Code de la route defaults), km/h.
FRENCH_MAXSPEED: Mapping[str, float] = {
    "FR:urban": 50.0,
    "FR:zone30": 30.0,
    "FR:zone20": 20.0,
    "FR:rural": 80.0,
    "FR:trunk": 110.0,
    "FR:motorway": 130.0,
    "FR:walk": 6.0,
    "FR:living_street": 20.0,
    "walk": 6.0,
    "none": 130.0,
}

#: Speeds by road type when a way has no usable maxspeed, km/h. Lower than the legal
#: limits on purpose: urban driving rarely reaches them (lights, junctions, parking search).
HWY_SPEEDS: Mapping[str, float] = {
    "motorway": 110.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 45.0,
    "primary_link": 35.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 15.0,
    "road": 30.0,
    "service": 15.0,
}

#: Constant speeds for the non-motorised modes, km/h.
MODE_SPEED: Mapping[str, float] = {"bike": 15.0, "walk": 4.5}
#: Average speed assumed off the network (geodesic fallback), km/h.
FALLBACK_SPEED: Mapping[str, float] = {"drive": 30.0, "bike": 15.0, "walk": 4.5}

_NETWORK_TYPE = {"drive": "drive", "bike": "bike", "walk": "walk"}


def file_sha256(path: str | Path) -> str:
    """Return the sha256 hex digest of a file."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- filtering


def _parse_filter(expr: str) -> list[tuple[str, str, re.Pattern[str] | None]]:
    """Parse an Overpass tag filter such as ``["highway"]["access"!~"private"]``."""
    out: list[tuple[str, str, re.Pattern[str] | None]] = []
    for m in re.finditer(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]', expr):
        key, op, val = m.group(1), m.group(2) or "has", m.group(3)
        out.append((key, op, re.compile(val) if val is not None else None))
    return out


_Cond = tuple[str, str, re.Pattern[str] | None]


def _way_passes(tags: Mapping[str, str], conds: list[_Cond]) -> bool:
    for key, op, rx in conds:
        val = tags.get(key)
        if op == "has":
            if val is None:
                return False
        elif op == "~":
            if val is None or rx is None or not rx.search(val):
                return False
        elif val is not None and rx is not None and rx.search(val):
            return False
    return True


def pbf_to_filtered_xml(pbf: str | Path, out: str | Path, mode: str) -> int:
    """Write the ways osmnx would download for ``mode`` as OSM XML; return the way count.

    Ways of a clipped extract that reference missing nodes are split at those nodes, so
    osmnx does not stop with "Some edges missing nodes".

    Parameters
    ----------
    pbf
        Input ``.osm.pbf`` (or any format pyosmium reads).
    out
        Output ``.osm`` XML path.
    mode
        ``drive``, ``bike`` or ``walk``.

    Returns
    -------
    int
        Number of ways written (after splitting).
    """
    import osmium
    import osmnx as ox

    # osmnx keeps its Overpass filter private; using it keeps our graph identical to what
    # osmnx would have fetched online (osmnx is pinned in pyproject for this reason).
    conds = _parse_filter(ox._overpass._get_network_filter(_NETWORK_TYPE[mode]))
    keep = set(ox.settings.useful_tags_way) | {"maxspeed", "oneway", "junction", "highway"}
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    needed: set[int] = set()
    w: Any
    for w in osmium.FileProcessor(str(pbf), osmium.osm.WAY):
        tags = {t.k: t.v for t in w.tags}
        if _way_passes(tags, conds):
            refs = [n.ref for n in w.nodes]
            ways.append((w.id, refs, {k: v for k, v in tags.items() if k in keep}))
            needed.update(refs)
    coords: dict[int, tuple[float, float]] = {}
    n: Any
    for n in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        if n.id in needed and n.location.valid():
            coords[n.id] = (n.location.lat, n.location.lon)
    count = 0
    next_id = -1
    with Path(out).open("w", encoding="utf-8") as f:
        f.write("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n")
        for nid, (lat, lon) in coords.items():
            f.write(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for wid, refs, tags in ways:
            # Split at missing nodes: each run of present nodes becomes its own way.
            runs: list[list[int]] = [[]]
            for r in refs:
                if r in coords:
                    runs[-1].append(r)
                elif runs[-1]:
                    runs.append([])
            runs = [r for r in runs if len(r) >= 2]
            for i, run in enumerate(runs):
                out_id = wid if i == 0 else next_id
                if i:
                    next_id -= 1
                f.write(f'<way id="{out_id}">\n')
                f.writelines(f'<nd ref="{r}"/>\n' for r in run)
                f.writelines(
                    f"<tag k={quoteattr(k)} v={quoteattr(v)}/>\n" for k, v in tags.items()
                )
                f.write("</way>\n")
                count += 1
        f.write("</osm>\n")
    return count


def _speed_kph(maxspeed: object, highway: object) -> float:
    """Return the speed of an edge from its tags, mapping French tags first."""
    hw = highway[0] if isinstance(highway, list) else highway
    default = HWY_SPEEDS.get(str(hw), 30.0)
    values = maxspeed if isinstance(maxspeed, list) else [maxspeed]
    speeds: list[float] = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        s = str(v).strip()
        if s in FRENCH_MAXSPEED:
            speeds.append(FRENCH_MAXSPEED[s])
            continue
        m = re.match(r"^(\d+(?:\.\d+)?)\s*(mph)?$", s)
        if m:
            kph = float(m.group(1)) * (1.609344 if m.group(2) else 1.0)
            speeds.append(kph)
    if not speeds:
        return default
    # A legal limit is an upper bound, not a travel speed: keep the road-type speed when it
    # is lower (a residential street in a 50 zone is not driven at 50).
    return min(sum(speeds) / len(speeds), default)


# --------------------------------------------------------------------------- graph


@dataclass(frozen=True)
class RoadNetwork:
    """Hold a road graph as arrays (one mode).

    Attributes
    ----------
    mode
        Travel mode.
    lat, lon
        Node positions.
    src, dst
        Edge end points (node indices), parallel edges already reduced.
    seconds, metres
        Edge travel time and length.
    """

    mode: str
    lat: FloatArray
    lon: FloatArray
    src: IntArray
    dst: IntArray
    seconds: FloatArray
    metres: FloatArray

    @property
    def n_nodes(self) -> int:
        """Return the number of nodes."""
        return int(self.lat.shape[0])

    def csr(self, weight: str = "seconds") -> object:
        """Return a scipy CSR matrix of the graph weighted by ``seconds`` or ``metres``."""
        from scipy.sparse import csr_matrix

        w = self.seconds if weight == "seconds" else self.metres
        n = self.n_nodes
        return csr_matrix((w, (self.src, self.dst)), shape=(n, n))

    def _tree(self) -> object:
        from scipy.spatial import cKDTree

        x, y = _project(self.lat, self.lon, float(np.mean(self.lat)))
        return cKDTree(np.column_stack([x, y]))

    def snap(self, points: Sequence[LatLon]) -> tuple[IntArray, FloatArray]:
        """Return the nearest node of each point and its distance in metres.

        Parameters
        ----------
        points
            ``(lat, lon)`` pairs.

        Returns
        -------
        nodes, metres
            Node index per point and straight-line snap distance.
        """
        tree = _tree_cache.get(id(self))
        if tree is None or tree[0] is not self:
            tree = (self, self._tree())
            _tree_cache[id(self)] = tree
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        x, y = _project(pts[:, 0], pts[:, 1], float(np.mean(self.lat)))
        d, idx = tree[1].query(np.column_stack([x, y]))  # type: ignore[attr-defined]
        return np.asarray(idx, dtype=np.int64), np.asarray(d, dtype=np.float64)


_tree_cache: dict[int, tuple[RoadNetwork, object]] = {}

EARTH_R = 6_371_008.8


def _project(lat: FloatArray, lon: FloatArray, lat0: float) -> tuple[FloatArray, FloatArray]:
    """Project to metres (equirectangular): exact enough over a few tens of kilometres."""
    k = math.pi / 180.0
    return lon * k * EARTH_R * math.cos(lat0 * k), lat * k * EARTH_R


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Return the great-circle distance in metres."""
    la1, lo1, la2, lo2 = (math.radians(v) for v in (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(
        (lo2 - lo1) / 2
    ) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(h))


def build_network(pbf: str | Path, mode: str) -> RoadNetwork:
    """Build the road network of one mode from an OSM file (no cache; takes seconds).

    Parameters
    ----------
    pbf
        OSM file.
    mode
        ``drive``, ``bike`` or ``walk``.

    Returns
    -------
    RoadNetwork
        Largest strongly connected component with travel times.
    """
    import osmnx as ox

    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / f"{mode}.osm"
        pbf_to_filtered_xml(pbf, xml, mode)
        g = ox.graph_from_xml(
            str(xml), bidirectional=(mode == "walk"), simplify=True, retain_all=True
        )
    g = ox.truncate.largest_component(g, strongly=True)
    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    lat = np.array([g.nodes[n]["y"] for n in nodes], dtype=np.float64)
    lon = np.array([g.nodes[n]["x"] for n in nodes], dtype=np.float64)
    best: dict[tuple[int, int], tuple[float, float]] = {}
    for u, v, data in g.edges(data=True):
        length = float(data.get("length", 0.0))
        if mode == "drive":
            kph = _speed_kph(data.get("maxspeed"), data.get("highway"))
        else:
            kph = MODE_SPEED[mode]
        secs = length / (kph / 3.6)
        key = (index[u], index[v])
        # Parallel edges: keep the fastest (scipy would otherwise sum duplicates).
        if key not in best or secs < best[key][0]:
            best[key] = (secs, length)
    keys = np.array(list(best.keys()), dtype=np.int64).reshape(-1, 2)
    vals = np.array(list(best.values()), dtype=np.float64).reshape(-1, 2)
    return RoadNetwork(
        mode=mode,
        lat=lat,
        lon=lon,
        src=keys[:, 0],
        dst=keys[:, 1],
        seconds=vals[:, 0],
        metres=vals[:, 1],
    )


_memory: dict[tuple[str, str], RoadNetwork] = {}


def load_network(pbf: str | Path, mode: str, cache_dir: str | Path) -> RoadNetwork:
    """Load the network of a mode, building and caching it on first use.

    Parameters
    ----------
    pbf
        OSM file.
    mode
        ``drive``, ``bike`` or ``walk``.
    cache_dir
        Directory for the ``.npz`` cache (created if missing).

    Returns
    -------
    RoadNetwork
        The network.
    """
    mode = str(Mode(mode))
    digest = file_sha256(pbf)
    key = (digest, mode)
    if key in _memory:
        return _memory[key]
    cache = Path(cache_dir) / f"roads-{digest[:24]}-{mode}-v{CACHE_VERSION}.npz"
    if cache.exists():
        z = np.load(cache)
        net = RoadNetwork(
            mode=mode,
            lat=z["lat"],
            lon=z["lon"],
            src=z["src"],
            dst=z["dst"],
            seconds=z["seconds"],
            metres=z["metres"],
        )
    else:
        net = build_network(pbf, mode)
        cache.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two workers building the same graph must not rename each other's.
        tmp = cache.with_suffix(f".{uuid.uuid4().hex}.tmp.npz")
        np.savez_compressed(
            tmp,
            lat=net.lat,
            lon=net.lon,
            src=net.src,
            dst=net.dst,
            seconds=net.seconds,
            metres=net.metres,
        )
        tmp.replace(cache)  # atomic: concurrent workers never read a half-written file
    _memory[key] = net
    return net


def network_matrices(
    net: RoadNetwork,
    points: Sequence[LatLon],
    *,
    max_snap_m: float = 300.0,
    detour: float = 1.35,
    access_s: int = 0,
) -> tuple[IntArray, IntArray]:
    """Compute travel seconds and metres between all pairs of points on a network.

    Parameters
    ----------
    net
        Road network.
    points
        ``(lat, lon)`` pairs.
    max_snap_m
        Points farther than this from any node use the geodesic fallback.
    detour
        Factor applied to geodesic distances in the fallback.
    access_s
        Parking/access time added to every trip between distinct points.

    Returns
    -------
    seconds, metres
        Integer ``N x N`` matrices (zero diagonal). Metres follow the shortest path, which
        is what a kilometre allowance pays.
    """
    from scipy.sparse.csgraph import dijkstra

    n = len(points)
    if n == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return empty, empty
    nodes, snap_m = net.snap(points)
    uniq, inv = np.unique(nodes, return_inverse=True)
    t = dijkstra(net.csr("seconds"), directed=True, indices=uniq)[:, uniq]
    d = dijkstra(net.csr("metres"), directed=True, indices=uniq)[:, uniq]
    speed = FALLBACK_SPEED[net.mode] / 3.6
    # Getting from the door to the snapped node at the fallback speed, both ends.
    snap_s = snap_m / speed
    secs = t[np.ix_(inv, inv)] + snap_s[:, None] + snap_s[None, :]
    metres = d[np.ix_(inv, inv)] + snap_m[:, None] + snap_m[None, :]
    off = np.flatnonzero(snap_m > max_snap_m)
    if off.size:
        pts = np.asarray(points, dtype=np.float64)
        for i in off:
            for j in range(n):
                g = haversine_m(tuple(pts[i]), tuple(pts[j])) * detour
                secs[i, j] = secs[j, i] = g / speed
                metres[i, j] = metres[j, i] = g
    secs = np.rint(secs) + access_s
    np.fill_diagonal(secs, 0)
    np.fill_diagonal(metres, 0)
    return secs.astype(np.int64), np.rint(metres).astype(np.int64)


def travel_matrices(
    points: Sequence[LatLon],
    modes: Iterable[str],
    cache_dir: str | Path,
    *,
    pbf: str | Path,
    access_s: int = 0,
) -> dict[str, tuple[IntArray, IntArray]]:
    """Return ``{mode: (seconds, metres)}`` matrices between points, for the web app.

    Parameters
    ----------
    points
        ``(lat, lon)`` of every place (homes of carers and clients), in matrix order.
    modes
        Modes needed (``drive``, ``bike``, ``walk``).
    cache_dir
        Where the prepared graphs are cached.
    pbf
        OSM extract of the area.
    access_s
        Parking/access time added to each trip between distinct places.

    Returns
    -------
    dict
        Integer matrices per mode.
    """
    return {
        str(m): network_matrices(
            load_network(pbf, str(m), cache_dir), points, access_s=access_s
        )
        for m in modes
    }


def _commune_polygons(pbf: str | Path, names: Iterable[str]) -> list[object]:
    """Return shapely geometries of administrative areas with these names."""
    import osmium
    from shapely import wkb  # type: ignore[import-untyped]

    wanted = set(names)
    fab = osmium.geom.WKBFactory()
    out = []
    obj: Any
    for obj in osmium.FileProcessor(str(pbf)).with_areas().with_locations():
        if (
            obj.is_area()
            and obj.tags.get("boundary") == "administrative"
            and obj.tags.get("name") in wanted
            and not obj.from_way()
        ):
            try:
                out.append(wkb.loads(fab.create_multipolygon(obj), hex=True))
            except RuntimeError:
                # Boundaries cut by the extract's edge cannot be closed: skip them.
                continue
    return out


#: Communes around Monaco where the demo day takes place (France only).
DEMO_COMMUNES = ("Beausoleil", "Roquebrune-Cap-Martin", "Cap-d'Ail")
#: Roquebrune-Cap-Martin's boundary is cut by the Monaco extract, so its polygon cannot be
#: built; this box (east of Monaco's easternmost point, lon 7.4399) stands in for it.
DEMO_BOXES = ((43.735, 7.4405, 43.78, 7.50),)


def street_points(
    pbf: str | Path,
    n: int,
    seed: int = 0,
    *,
    cache_dir: str | Path,
    communes: Iterable[str] = DEMO_COMMUNES,
    boxes: Iterable[tuple[float, float, float, float]] = DEMO_BOXES,
    jitter_m: float = 40.0,
) -> list[LatLon]:
    """Sample ``n`` positions on real drivable streets inside the given communes.

    Nodes of the drive graph are drawn without replacement (with replacement when too
    few), then moved by up to ``jitter_m`` so two clients rarely share a node.

    Parameters
    ----------
    pbf
        OSM extract.
    n
        Number of points.
    seed
        Random seed.
    cache_dir
        Graph cache directory.
    communes
        Administrative areas (OSM ``name``) to sample from.
    boxes
        Extra ``(lat_min, lon_min, lat_max, lon_max)`` boxes to sample from.
    jitter_m
        Maximum displacement in metres.

    Returns
    -------
    list of (lat, lon)
    """
    from shapely import points as shp_points

    net = load_network(pbf, "drive", cache_dir)
    polys = _commune_polygons(pbf, communes)
    pts = shp_points(np.column_stack([net.lon, net.lat]))
    inside = np.zeros(net.n_nodes, dtype=bool)
    for p in polys:
        inside |= np.asarray(p.contains(pts))  # type: ignore[attr-defined]
    for la0, lo0, la1, lo1 in boxes:
        inside |= (net.lat >= la0) & (net.lat <= la1) & (net.lon >= lo0) & (net.lon <= lo1)
    cand = np.flatnonzero(inside) if inside.any() else np.arange(net.n_nodes)
    rng = np.random.default_rng(seed)
    pick = rng.choice(cand, size=n, replace=n > cand.size)
    ang = rng.uniform(0, 2 * math.pi, n)
    r = rng.uniform(0, jitter_m, n)
    dlat = r * np.sin(ang) / 111_320.0
    dlon = r * np.cos(ang) / (111_320.0 * np.cos(np.radians(net.lat[pick])))
    return [
        (float(a), float(b))
        for a, b in zip(net.lat[pick] + dlat, net.lon[pick] + dlon, strict=True)
    ]
