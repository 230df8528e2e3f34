/* Tournée page script: small on purpose. Every page works without it. */
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  // htmx requests carry the CSRF token as a header (Flask-WTF reads X-CSRFToken), and the
  // page's language, which the service worker answers in when it keeps an action offline.
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
    event.detail.headers["X-Tournee-Lang"] = document.documentElement.lang;
  });
  // Check-in/out: add the position when the phone gives it quickly, asked only when the
  // carer taps (never at page load) and never waited for more than a moment.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt.closest && event.detail.elt.closest("form[data-geo]");
    var lat = form && form.querySelector('input[name="lat"]');
    var lon = form && form.querySelector('input[name="lon"]');
    if (!lat || !lon || lat.value || !("geolocation" in navigator)) { return; }
    event.preventDefault();
    var sent = false;
    function send() { if (!sent) { sent = true; event.detail.issueRequest(true); } }
    setTimeout(send, 1500);
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lon.value = pos.coords.longitude.toFixed(6);
      send();
    }, send, { maximumAge: 120000, timeout: 1500 });
  });
  // The language switcher applies on change when scripts run.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "locale") { event.target.form.submit(); }
  });
})();
