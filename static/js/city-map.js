// 一张图: regions as switchable base layers, unit grids in view when zoomed in, a choropleth of open cases
// per grid, and clustered case markers (compact JSON: [id, lon, lat, status, light]). A tile layer only
// when TILE_URL is configured. Filters reload the case layers without leaving the page.
(function () {
  const el = document.getElementById("city-map");
  if (!el || !window.L) return;
  const text = JSON.parse(document.getElementById("map-text").textContent);
  const statusLabels = JSON.parse(document.getElementById("status-labels").textContent);
  const statusEl = document.getElementById("map-status");
  const form = document.getElementById("map-filters");
  const gridMinZoom = parseInt(el.dataset.gridMinZoom, 10) || 15;
  let query = el.dataset.query || "";

  const map = L.map(el, { preferCanvas: true, attributionControl: false, maxZoom: 19, minZoom: 5 });
  const overlays = {};
  if (el.dataset.tileUrl) {
    overlays[text.tiles] = L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }

  function say(message) { if (statusEl) statusEl.textContent = message; }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }
  function bboxParam() {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
  }
  function withQuery(url, extra) {
    const parts = [query, extra].filter(Boolean).join("&");
    return parts ? url + "?" + parts : url;
  }

  // Regions: one base layer per level, loaded on first use.
  const regionStyle = { district: { color: "#1f5f99", weight: 2, fillColor: "#9cc3e6", fillOpacity: 0.15 },
                        street: { color: "#2c7a7b", weight: 1.5, fillColor: "#b2dfdb", fillOpacity: 0.12 },
                        community: { color: "#6b4f9e", weight: 1, fillColor: "#d1c4e9", fillOpacity: 0.1 } };
  const baseLayers = {};
  let fitted = false;
  ["district", "street", "community"].forEach(function (level) {
    const layer = L.geoJSON(null, {
      style: regionStyle[level],
      onEachFeature: function (feature, lyr) { lyr.bindTooltip(feature.properties.name, { sticky: true }); },
    });
    layer.loaded = false;
    layer.on("add", function () {
      layer.bringToBack();
      if (layer.loaded) return;
      layer.loaded = true;
      getJSON(el.dataset.regionsUrl + "?level=" + level).then(function (geojson) {
        layer.addData(geojson);
        layer.bringToBack();
        if (!fitted && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); fitted = true; }
      }).catch(function () { say(text.failed); });
    });
    baseLayers[text[level]] = layer;
  });

  // Unit grids in the current view, from gridMinZoom on.
  const grids = L.geoJSON(null, { style: { color: "#555", weight: 0.6, fill: false },
    onEachFeature: function (feature, lyr) { lyr.bindTooltip(feature.properties.code, { sticky: true }); } });
  overlays[text.grids] = grids;

  // Choropleth: grids that hold open cases, coloured by count (the count is also in the tooltip).
  const palette = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  let maxCount = 1;
  const counts = L.geoJSON(null, {
    style: function (feature) {
      const share = feature.properties.count / maxCount;
      const color = palette[Math.min(palette.length - 1, Math.floor(share * palette.length))];
      return { color: "#a50f15", weight: 0.5, fillColor: color, fillOpacity: 0.6 };
    },
    onEachFeature: function (feature, lyr) {
      lyr.bindTooltip(feature.properties.code + "：" + text.gridCount.replace("{n}", feature.properties.count), { sticky: true });
    },
  });
  overlays[text.counts] = counts;

  // Case markers, clustered.
  const colors = { green: "#2e7d32", yellow: "#f9a825", red: "#c62828", "": "#607d8b" };
  const cases = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50 });
  overlays[text.cases] = cases;
  const caseUrl = el.dataset.caseUrl.replace(/0\/$/, "");

  function loadCases() {
    say(text.loading);
    getJSON(withQuery(el.dataset.casesUrl)).then(function (data) {
      const idx = {}; data.fields.forEach(function (f, i) { idx[f] = i; });
      const markers = data.rows.map(function (row) {
        const light = row[idx.light] || "";
        const marker = L.circleMarker([row[idx.lat], row[idx.lon]], {
          radius: 7, color: "#fff", weight: 1.5, fillColor: colors[light] || colors[""], fillOpacity: 0.95,
        });
        const id = row[idx.id];
        marker.bindPopup(function () {
          const div = document.createElement("div");
          const status = document.createElement("p");
          status.textContent = (statusLabels[row[idx.status]] || row[idx.status]) + " · " + text.lights[light];
          const link = document.createElement("a");
          link.href = caseUrl + id + "/";
          link.textContent = text.open;
          div.appendChild(status); div.appendChild(link);
          return div;
        });
        return marker;
      });
      cases.clearLayers();
      cases.addLayers(markers);
      say(text.loaded.replace("{n}", data.rows.length.toLocaleString()) + (data.truncated ? text.truncated : ""));
    }).catch(function () { say(text.failed); });
  }

  function loadCounts() {
    if (!map.hasLayer(counts)) return;
    getJSON(withQuery(el.dataset.countsUrl, "bbox=" + bboxParam())).then(function (geojson) {
      maxCount = Math.max(1, geojson.max || 1);
      counts.clearLayers();
      counts.addData(geojson);
    }).catch(function () { say(text.failed); });
  }

  function loadGrids() {
    if (!map.hasLayer(grids)) return;
    if (map.getZoom() < gridMinZoom) { grids.clearLayers(); return; }
    getJSON(el.dataset.gridsUrl + "?bbox=" + bboxParam()).then(function (geojson) {
      grids.clearLayers();
      grids.addData(geojson);
    }).catch(function () { say(text.failed); });
  }

  map.setView([36.66, 117.0], 10);  // until the district layer arrives and the map fits it
  baseLayers[text.district].addTo(map);
  grids.addTo(map);
  cases.addTo(map);
  L.control.layers(baseLayers, overlays, { collapsed: window.innerWidth < 600 }).addTo(map);

  let timer = null;
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { loadGrids(); loadCounts(); }, 250);
  });
  map.on("overlayadd", function (e) { if (e.layer === grids) loadGrids(); if (e.layer === counts) loadCounts(); });
  loadCases();

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const params = new URLSearchParams(new FormData(form));
      for (const [key, value] of Array.from(params.entries())) { if (value === "") params.delete(key); }
      query = params.toString();
      history.replaceState(null, "", form.action + (query ? "?" + query : ""));
      loadCases();
      loadCounts();
    });
    form.addEventListener("change", function () { form.requestSubmit(); });
  }
})();
