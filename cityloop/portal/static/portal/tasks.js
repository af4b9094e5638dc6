// The inspector's task pages: distance to each task from the browser's position, one submit per tap,
// and a small vector map of the case's position.
(function () {
  "use strict";

  function distanceM(lat1, lon1, lat2, lon2) {
    const r = 6371008.8, rad = Math.PI / 180;
    const dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad;
    const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * r * Math.asin(Math.sqrt(a));
  }

  const targets = document.querySelectorAll("[data-distance]");
  if (targets.length && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition((pos) => {
      targets.forEach((el) => {
        const d = distanceM(pos.coords.latitude, pos.coords.longitude, parseFloat(el.dataset.lat), parseFloat(el.dataset.lon));
        el.textContent = d < 1000 ? el.dataset.msgM.replace("%s", Math.round(d)) : el.dataset.msgKm.replace("%s", (d / 1000).toFixed(1));
      });
    }, () => {}, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  // A double tap on 属实/通过 must not send twice: the first submit disables the form's buttons.
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      const pressed = event.submitter;
      setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
      if (pressed) pressed.setAttribute("aria-busy", "true");
    });
  });
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) document.querySelectorAll("form[data-once]").forEach((f) => { delete f.dataset.sent; f.querySelectorAll("button").forEach((b) => { b.disabled = false; }); });
  });

  const mapEl = document.getElementById("case-map");
  if (mapEl && window.L) {
    const ll = [parseFloat(mapEl.dataset.lat), parseFloat(mapEl.dataset.lon)];
    const map = L.map(mapEl, { attributionControl: false, maxZoom: 19 }).setView(ll, 17);
    if (mapEl.dataset.tileUrl) L.tileLayer(mapEl.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    fetch(`${mapEl.dataset.gridsUrl}?bbox=${bbox}`).then((r) => r.json()).then((geojson) => {
      L.geoJSON(geojson, { style: { color: "#5b6675", weight: 1, fill: false, dashArray: "3" }, interactive: false }).addTo(map);
    }).catch(() => {});
    L.marker(ll, { keyboard: false }).addTo(map);
  }
})();
