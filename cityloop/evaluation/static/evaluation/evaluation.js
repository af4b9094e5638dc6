// 综合评价: the bar chart of composite scores, the trend lines of the best units, the region map coloured by
// grade, the period picker's fields and the print button. ECharts and Leaflet come from static/vendor.
(function () {
  function data(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  const text = data("eval-text") || {};
  const GRADE_COLORS = { A: "#2e7d32", B: "#7cb342", C: "#f9a825", D: "#ef6c00", E: "#c62828", "": "#b0bec5" };

  // Period picker: show only the fields of the chosen kind (all stay usable without JavaScript).
  document.querySelectorAll("form[data-period-form]").forEach(function (form) {
    const kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    function sync() {
      form.querySelectorAll("[data-kinds]").forEach(function (field) {
        field.hidden = field.dataset.kinds.split(" ").indexOf(kind.value) < 0;
      });
    }
    kind.addEventListener("change", sync);
    sync();
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  const charts = [];
  const barEl = document.getElementById("eval-chart");
  const bars = data("eval-chart-data");
  if (barEl && window.echarts && bars) {
    if (!bars.length) {
      barEl.textContent = text.noData || "";
      barEl.classList.add("empty");
    } else {
      const chart = echarts.init(barEl);
      chart.setOption({
        grid: { left: 48, right: 16, top: 40, bottom: 90 },
        tooltip: { trigger: "axis", formatter: function (p) {
          const item = bars[p[0].dataIndex];
          return item.name + "<br>" + (text.score || "") + "：" + item.score.toFixed(2) + "（" + item.grade + "）";
        } },
        xAxis: { type: "category", data: bars.map(function (b) { return b.name; }), axisLabel: { rotate: 40, interval: 0 } },
        yAxis: { type: "value", min: 0, max: 100, name: text.score },
        series: [{ type: "bar", data: bars.map(function (b) {
          return { value: b.score, itemStyle: { color: GRADE_COLORS[b.grade] || GRADE_COLORS[""] } };
        }), label: { show: bars.length <= 12, position: "top", formatter: function (p) { return p.value.toFixed(1); } } }],
      });
      charts.push(chart);
    }
  }

  const trendEl = document.getElementById("eval-trend");
  const trend = data("eval-trend-data");
  if (trendEl && window.echarts && trend) {
    if (!trend.series.length) {
      trendEl.textContent = text.trendEmpty || "";
      trendEl.classList.add("empty");
    } else {
      const chart = echarts.init(trendEl);
      chart.setOption({
        grid: { left: 48, right: 16, top: 56, bottom: 48 },
        tooltip: { trigger: "axis" },
        legend: { type: "scroll", top: 0 },
        xAxis: { type: "category", data: trend.periods, axisLabel: { interval: 0, rotate: trend.periods.length > 4 ? 20 : 0 } },
        yAxis: { type: "value", min: 0, max: 100, name: text.score },
        series: trend.series.map(function (s) {
          return { name: s.name, type: "line", data: s.scores, connectNulls: false, symbolSize: 6 };
        }),
      });
      charts.push(chart);
    }
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  const mapEl = document.getElementById("eval-map");
  if (mapEl && window.L) {
    const map = L.map(mapEl, { attributionControl: false, preferCanvas: true });
    if (mapEl.dataset.tileUrl) L.tileLayer(mapEl.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    else mapEl.classList.add("no-tiles");
    fetch(mapEl.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (geojson) {
        if (!geojson.features.length) { mapEl.textContent = text.mapEmpty || ""; return; }
        const layer = L.geoJSON(geojson, {
          style: function (f) {
            return { color: "#37474f", weight: 1, fillOpacity: 0.65, fillColor: GRADE_COLORS[f.properties.grade || ""] };
          },
          onEachFeature: function (f, lyr) {
            const p = f.properties;
            lyr.bindTooltip(p.name + "：" + (p.score === null ? (text.noScore || "—") : p.label + "（" + p.grade + "）"),
                            { sticky: true });
          },
        }).addTo(map);
        map.fitBounds(layer.getBounds());
      })
      .catch(function () { mapEl.textContent = text.mapEmpty || ""; });
  }
})();
