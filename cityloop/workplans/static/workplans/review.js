// Quarterly review charts (ECharts from npm, served as vendor/echarts). Data comes from a json_script block.
(function () {
  const source = document.getElementById("review-data");
  if (!source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colors = { closed: "#6a4fb6", done: "#2e7d32", in_progress: "#1f5f99", not_started: "#90a4ae", lagging: "#c0392b" };
  const charts = [];

  function stacked(id, group, horizontal) {
    const el = document.getElementById(id);
    if (!el || !group.categories.length) return;
    if (horizontal) el.style.height = Math.max(300, group.categories.length * 30 + 80) + "px";
    const chart = echarts.init(el);
    const categoryAxis = { type: "category", data: group.categories, axisLabel: { interval: 0, width: 160, overflow: "truncate" } };
    const valueAxis = { type: "value", minInterval: 1 };
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: horizontal ? 170 : 40, right: 20, top: 40, bottom: horizontal ? 20 : 80, containLabel: false },
      xAxis: horizontal ? valueAxis : Object.assign({}, categoryAxis, { axisLabel: { interval: 0, rotate: 30, width: 120, overflow: "truncate" } }),
      yAxis: horizontal ? Object.assign({}, categoryAxis, { inverse: true }) : valueAxis,
      series: group.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "total", data: s.data, itemStyle: { color: colors[s.key] }, label: { show: false } };
      }),
    });
    charts.push(chart);
  }

  function targets(id, group) {
    const el = document.getElementById(id);
    if (!el || !group.categories.length) return;
    el.style.height = Math.max(300, group.categories.length * 36 + 80) + "px";
    const chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
      legend: { top: 0 },
      grid: { left: 190, right: 30, top: 40, bottom: 20 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", inverse: true, data: group.categories, axisLabel: { width: 180, overflow: "truncate" } },
      series: [
        { name: el.dataset.actual, type: "bar", data: group.actual, itemStyle: { color: "#1f5f99" } },
        { name: el.dataset.expected, type: "bar", data: group.expected, itemStyle: { color: "#b0bec5" } },
      ],
    });
    charts.push(chart);
  }

  stacked("chart-sections", data.sections, false);
  stacked("chart-units", data.units, true);
  targets("chart-targets", data.targets);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
})();
