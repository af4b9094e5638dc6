// The case page's map: the case's position and the outline of its unit grid.
(function () {
  const el = document.getElementById("case-map");
  if (!el || !window.L) return;
  const lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
  const map = L.map(el, { attributionControl: false, scrollWheelZoom: false, maxZoom: 19 });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  const gridScript = document.getElementById("case-grid");
  const geometry = gridScript ? JSON.parse(gridScript.textContent) : null;
  let bounds = L.latLngBounds([[lat, lon], [lat, lon]]);
  let grid = null;
  if (geometry) {
    grid = L.geoJSON(geometry, { style: { color: "#1f5f99", weight: 2, fillColor: "#9cc3e6", fillOpacity: 0.25 } });
    bounds = grid.getBounds().extend([lat, lon]);
  }
  // The view first: vector layers need it before they are added.
  map.fitBounds(bounds.pad(0.6), { maxZoom: 18 });
  if (grid) grid.addTo(map);
  L.circleMarker([lat, lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#c0392b", fillOpacity: 1 })
    .bindTooltip(el.dataset.label || "").addTo(map);
})();
