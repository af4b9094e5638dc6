// The public problem map: recent cases as clustered markers with category and status only (positions are
// coarsened by the server), over vector district boundaries (and tiles only when TILE_URL is set).
(function () {
  "use strict";
  const el = document.getElementById("public-map");
  if (!el || !window.L) return;
  const map = L.map(el, { attributionControl: false, preferCanvas: true, maxZoom: 19 }).setView([36.66, 117.02], 10);
  if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  const summary = document.getElementById("map-summary");
  let fitted = false;

  fetch(el.dataset.regionsUrl).then((r) => r.json()).then((geojson) => {
    const layer = L.geoJSON(geojson, {
      style: { color: "#1f5f99", weight: 1.5, fillColor: "#9cc3e6", fillOpacity: 0.2 },
      onEachFeature: (f, lyr) => lyr.bindTooltip(f.properties.name, { sticky: true }),
    }).addTo(map);
    if (!fitted && layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
  }).catch(() => {});

  fetch(el.dataset.pointsUrl).then((r) => r.json()).then((geojson) => {
    const group = L.markerClusterGroup ? L.markerClusterGroup({ maxClusterRadius: 40 }) : L.layerGroup();
    geojson.features.forEach((f) => {
      const [lon, lat] = f.geometry.coordinates;
      const closed = f.properties.status === "closed";
      const m = L.circleMarker([lat, lon], {
        radius: 7, weight: 2, color: "#fff", fillOpacity: 0.9, fillColor: closed ? "#2e7d32" : "#e67e22",
      });
      const box = document.createElement("div");
      const strong = document.createElement("strong");
      strong.textContent = f.properties.category;
      box.append(strong, document.createElement("br"), document.createTextNode(f.properties.status_label));
      m.bindPopup(box);
      group.addLayer(m);
    });
    group.addTo(map);
    if (summary) summary.textContent = el.dataset.summary.replace("%s", geojson.features.length);
  }).catch((e) => console.error(e));
})();
