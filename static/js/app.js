/* Tournée page script: small on purpose. Every page works without it. */
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  // htmx requests carry the CSRF token as a header (Flask-WTF reads X-CSRFToken).
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
  });
  // Check-in/out: add the position when the phone gives it quickly; never wait for it.
  function fillPosition(form) {
    if (!("geolocation" in navigator)) { return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lat = form.querySelector('input[name="lat"]');
      var lon = form.querySelector('input[name="lon"]');
      if (lat && lon) { lat.value = pos.coords.latitude.toFixed(6); lon.value = pos.coords.longitude.toFixed(6); }
    }, function () {}, { maximumAge: 120000, timeout: 3000 });
  }
  function scan(root) {
    (root || document).querySelectorAll("form[data-geo]").forEach(fillPosition);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:afterSettle", function (event) { scan(event.target); });
  // The language switcher applies on change when scripts run.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "locale") { event.target.form.submit(); }
  });
})();
