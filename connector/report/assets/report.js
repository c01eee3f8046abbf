/* leadsync's report: the charts, drawn from the report's JSON embedded in the page (the tables are
   already in the page; every number here is the JSON's). Texts from the data reach Chart.js only,
   which draws them on a canvas: none becomes HTML. */
(function () {
  "use strict";
  var report = JSON.parse(document.getElementById("report-data").textContent);
  var nowMonth = document.body.getAttribute("data-now-month");
  var speedUnit = document.body.getAttribute("data-speed-unit");
  var C = { blue: "#0072b2", orange: "#e69f00", green: "#009e73", red: "#d55e00", sky: "#56b4e9",
            purple: "#cc79a7", yellow: "#f0e442", grey: "#9aa3b2", ink: "#1d2433" };
  var CYCLE = [C.blue, C.orange, C.green, C.red, C.sky, C.purple, C.yellow, C.grey];

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = "#3a4252";
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
  Chart.defaults.plugins.legend.position = "bottom";
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function pct(v) { return v === null ? null : Math.round(v * 1000) / 10; }
  function pick(rows, key) { return rows.map(function (r) { return r[key]; }); }
  function ownerLabel(r) { return r.name ? r.name : r.owner_id; }
  function bar(label, data, color, extra) {
    var ds = { type: "bar", label: label, data: data, backgroundColor: color, borderColor: color };
    for (var k in extra) { ds[k] = extra[k]; }
    return ds;
  }
  function countAxis(title, stacked) {
    return { beginAtZero: true, stacked: !!stacked, ticks: { precision: 0 },
             title: { display: !!title, text: title } };
  }
  function horizontalHeight(canvas, n) {
    canvas.parentNode.style.height = Math.max(180, 34 * n + 90) + "px";
  }

  var draw = {
    commitment: function () {
      var rows = report.commitment;
      var labels = rows.map(function (r) { return r.month === nowMonth ? r.month + " (projected)" : r.month; });
      var datasets = [
        bar("MQLs handed to sales", pick(rows, "handoffs"), C.blue, { stack: "m" }),
        bar("projected to the month's end", rows.map(function (r) {
          return r.month === nowMonth ? Math.max(r.projected - r.handoffs, 0) : 0;
        }), "rgba(0,114,178,0.25)", { stack: "m", borderColor: C.blue, borderWidth: 1,
                                       borderDash: [4, 3] })
      ];
      if (rows.some(function (r) { return r.committed !== null; })) {
        datasets.push({ type: "line", label: "commitment", data: pick(rows, "committed"),
                        borderColor: C.red, backgroundColor: C.red, borderWidth: 2, stepped: "middle",
                        pointRadius: 3 });
      }
      return { data: { labels: labels, datasets: datasets },
               options: { scales: { x: { stacked: true }, y: countAxis("MQLs", true) } } };
    },
    funnel_periods: function () {
      var rows = report.funnel.periods;
      return { data: { labels: pick(rows, "period"), datasets: [
                 bar("handoffs (MQL)", pick(rows, "handoffs"), C.blue),
                 bar("SQL", pick(rows, "sql"), C.sky),
                 bar("opportunity", pick(rows, "opportunity"), C.orange),
                 bar("customer", pick(rows, "customer"), C.green)] },
               options: { scales: { y: countAxis("contacts") } } };
    },
    funnel_sources: function (canvas) {
      var rows = report.funnel.by_source;
      horizontalHeight(canvas, rows.length * 1.6);
      return { data: { labels: pick(rows, "source"), datasets: [
                 bar("handoffs (MQL)", pick(rows, "handoffs"), C.blue),
                 bar("SQL", pick(rows, "sql"), C.sky),
                 bar("customer", pick(rows, "customer"), C.green)] },
               options: { indexAxis: "y", scales: { x: countAxis("contacts") } } };
    },
    sla_periods: function () {
      var rows = report.sla.periods;
      return { data: { labels: pick(rows, "period"), datasets: [
                 bar("on time", pick(rows, "on_time"), C.green, { stack: "s", yAxisID: "y" }),
                 bar("late", pick(rows, "late"), C.red, { stack: "s", yAxisID: "y" }),
                 bar("open (clock running)", pick(rows, "open"), C.grey, { stack: "s", yAxisID: "y" }),
                 { type: "line", label: "SLA compliance %", data: rows.map(function (r) { return pct(r.compliance); }),
                   borderColor: C.ink, backgroundColor: C.ink, yAxisID: "y1", spanGaps: true, pointRadius: 4,
                   clip: 6 }] },
               options: { scales: { x: { stacked: true }, y: countAxis("handoffs", true),
                 y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
                       title: { display: true, text: "compliance %" } } } } };
    },
    speed_periods: function () {
      var rows = report.sla.periods;
      return { data: { labels: pick(rows, "period"), datasets: [
                 bar("median", rows.map(function (r) { return r.speed_to_lead_min.median; }), C.blue),
                 bar("p90", rows.map(function (r) { return r.speed_to_lead_min.p90; }), C.orange)] },
               options: { scales: { y: countAxis(speedUnit) } } };
    },
    sla_owners: function (canvas) {
      var rows = report.sla.by_owner;
      horizontalHeight(canvas, rows.length);
      return { data: { labels: rows.map(ownerLabel), datasets: [
                 bar("on time", pick(rows, "on_time"), C.green, { stack: "s" }),
                 bar("late", pick(rows, "late"), C.red, { stack: "s" }),
                 bar("open (clock running)", pick(rows, "open"), C.grey, { stack: "s" })] },
               options: { indexAxis: "y", scales: { x: countAxis("handoffs", true), y: { stacked: true } } } };
    },
    speed_owners: function (canvas) {
      var rows = report.sla.by_owner;
      horizontalHeight(canvas, rows.length * 1.4);
      return { data: { labels: rows.map(ownerLabel), datasets: [
                 bar("median", rows.map(function (r) { return r.speed_to_lead_min.median; }), C.blue),
                 bar("p90", rows.map(function (r) { return r.speed_to_lead_min.p90; }), C.orange)] },
               options: { indexAxis: "y", scales: { x: countAxis(speedUnit) } } };
    },
    reasons: function (canvas) {
      var rows = report.reasons.rows;
      var totals = {};
      rows.forEach(function (r) {
        Object.keys(r.by_source).forEach(function (s) { totals[s] = (totals[s] || 0) + r.by_source[s]; });
      });
      var sources = Object.keys(totals).sort(function (a, b) {
        return totals[b] - totals[a] || (a < b ? -1 : a > b ? 1 : 0);
      });
      horizontalHeight(canvas, rows.length);
      return { data: { labels: rows.map(function (r) { return r.label || r.reason; }),
                       datasets: sources.map(function (s, i) {
                         return bar(s, rows.map(function (r) { return r.by_source[s] || 0; }),
                                    CYCLE[i % CYCLE.length], { stack: "r" });
                       }) },
               options: { indexAxis: "y", scales: { x: countAxis("contacts", true), y: { stacked: true } } } };
    }
  };

  var canvases = document.querySelectorAll("canvas[data-chart]");
  for (var i = 0; i < canvases.length; i++) {
    var canvas = canvases[i];
    var spec = draw[canvas.getAttribute("data-chart")](canvas);
    new Chart(canvas, { type: "bar", data: spec.data, options: spec.options });
  }
  window.addEventListener("beforeprint", function () {
    for (var id in Chart.instances) { Chart.instances[id].resize(); }
  });
})();
