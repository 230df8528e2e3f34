/* Map of proposed rounds. The list beside it stays the main view: without tiles (offline)
   or without this script, nothing is lost. */
(function () {
  "use strict";
  var COLOURS = ["#0b5d58", "#a4161a", "#6a4c93", "#1d6b2a", "#b45309", "#1f4e9c",
                 "#8a2c5a", "#4a5560", "#0e7490", "#7a4b00", "#365314", "#9d174d"];
  function draw(el) {
    if (el.dataset.ready || typeof L === "undefined") { return; }
    el.dataset.ready = "1";
    var routes = JSON.parse(el.dataset.routes || "[]");
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = L.tileLayer(el.dataset.tiles, {
      maxZoom: 18, crossOrigin: true,
      attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap contributors</a>'
    }).addTo(map);
    tiles.on("tileerror", function () {
      var note = document.getElementById("round-map-note");
      if (note) { note.hidden = false; }
    });
    var bounds = [];
    routes.forEach(function (route, i) {
      var colour = COLOURS[i % COLOURS.length];
      var points = route.stops.map(function (s) { return [s[0], s[1]]; });
      if (points.length > 1) { L.polyline(points, { color: colour, weight: 3, opacity: 0.8 }).addTo(map); }
      route.stops.forEach(function (s, n) {
        L.circleMarker([s[0], s[1]], { radius: 7, color: colour, fillOpacity: 0.9 })
          .bindTooltip((n + 1) + ". " + s[2] + " — " + route.carer).addTo(map);
        bounds.push([s[0], s[1]]);
      });
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([43.74, 7.43], 13); }
  }
  function scan() { document.querySelectorAll("#round-map").forEach(draw); }
  if (document.readyState !== "loading") { scan(); } else { document.addEventListener("DOMContentLoaded", scan); }
  document.addEventListener("htmx:afterSettle", scan);
})();
