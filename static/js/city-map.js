// The city overview map: vector region boundaries, and a tile layer only when TILE_URL is configured.
(function () {
  const el = document.getElementById("city-map");
  if (!el || !window.L) return;
  const map = L.map(el, { preferCanvas: true, attributionControl: false });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  fetch(el.dataset.regionsUrl, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((geojson) => {
      const layer = L.geoJSON(geojson, {
        style: { color: "#1f5f99", weight: 1.5, fillColor: "#9cc3e6", fillOpacity: 0.35 },
        onEachFeature: (feature, lyr) => lyr.bindTooltip(feature.properties.name, { sticky: true }),
      }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
    });
})();
