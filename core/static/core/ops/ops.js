/* The operations page: re-renders each section from /ops/data/ every data-refresh-seconds and
   keeps the last hour's charts (uPlot, served from this app's static files). */
(function () {
  "use strict";
  var body = document.body;
  var url = body.dataset.url;
  var refreshMs = Math.max(0.2, parseFloat(body.dataset.refreshSeconds || "10")) * 1000;
  var charts = {};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function renderBody(section) {
    var wrap = el("div", { "class": "body" });
    var dl = el("dl");
    (section.items || []).forEach(function (item) {
      dl.appendChild(el("dt", {}, item.label));
      dl.appendChild(el("dd", { "class": "status-" + (item.status || "none") }, item.value));
    });
    wrap.appendChild(dl);
    if (section.note) wrap.appendChild(el("p", { "class": "muted" }, section.note));
    (section.tables || []).forEach(function (table) {
      wrap.appendChild(el("h3", {}, table.title));
      var t = el("table"), head = el("tr"), tbody = el("tbody");
      table.columns.forEach(function (c) { head.appendChild(el("th", {}, c)); });
      var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
      if (!table.rows.length) {
        var empty = el("tr"); empty.appendChild(el("td", { colspan: table.columns.length, "class": "muted" }, "none"));
        tbody.appendChild(empty);
      }
      table.rows.forEach(function (row) {
        var tr = el("tr", { "class": "status-" + (row.status || "none") });
        row.cells.forEach(function (cell) { tr.appendChild(el("td", {}, cell)); });
        tbody.appendChild(tr);
      });
      t.appendChild(tbody);
      wrap.appendChild(t);
    });
    return wrap;
  }

  function renderSection(section) {
    var node = document.getElementById("section-" + section.name);
    if (!node) {
      node = el("section", { id: "section-" + section.name });
      node.appendChild(el("h2"));
      node.appendChild(el("div", { "class": "body" }));
      document.querySelector("main").appendChild(node);
    }
    node.className = "panel status-border-" + section.status;
    node.dataset.status = section.status;
    var h2 = node.querySelector("h2");
    h2.textContent = section.title + " ";
    h2.appendChild(el("span", { "class": "badge status-" + section.status }, section.status));
    node.replaceChild(renderBody(section), node.querySelector(".body"));
  }

  function chartOptions(title, series, width) {
    return {
      width: width, height: 200,
      series: [{}].concat(series.map(function (s, i) {
        var colors = ["#264b5d", "#c62828", "#2e7d32", "#ed9c28", "#6a1b9a", "#00838f"];
        return { label: s, stroke: colors[i % colors.length], width: 1.5, spanGaps: false };
      })),
      scales: { x: { time: true, range: function () { var now = Date.now() / 1000; return [now - 3600, now]; } } },
      axes: [{}, { size: 50 }],
      legend: { show: true }
    };
  }

  function draw(id, labels, data) {
    var target = document.getElementById(id);
    var width = Math.max(320, Math.min(560, target.parentNode.parentNode.clientWidth / 3 - 24));
    var key = id + ":" + labels.join(",");
    if (charts[id] && charts[id].key === key) {
      charts[id].plot.setData(data);
      return;
    }
    if (charts[id]) charts[id].plot.destroy();
    charts[id] = { key: key, plot: new uPlot(chartOptions(id, labels, width), data, target) };
  }

  function renderCharts(chartData) {
    var error = document.getElementById("charts-error");
    error.hidden = !chartData.error;
    error.textContent = chartData.error || "";
    var req = chartData.requests;
    if (req) {
      draw("chart-rate", ["req/s"], [req.t, req.rate]);
      draw("chart-latency", ["mean ms", "max ms"], [req.t, req.latency_ms, req.max_ms]);
    }
    var q = chartData.queues;
    if (q) {
      var names = Object.keys(q.series);
      if (!names.length) names = ["(no samples yet)"];
      draw("chart-queues", names, [q.t].concat(names.map(function (n) { return q.series[n] || q.t.map(function () { return null; }); })));
    }
  }

  function render(data) {
    var overall = document.getElementById("overall");
    overall.className = "badge status-" + data.status;
    overall.textContent = data.status;
    document.getElementById("updated").textContent =
      "updated " + new Date(data.generated_at * 1000).toLocaleTimeString() + " (" + data.render_ms + " ms)";
    data.sections.forEach(renderSection);
    renderCharts(data.charts || {});
  }

  function refresh() {
    var problem = document.getElementById("refresh-error");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) { problem.hidden = true; render(data); })
      .catch(function (err) { problem.hidden = false; problem.textContent = "refresh failed: " + err.message; })
      .then(function () { window.setTimeout(refresh, refreshMs); });
  }

  renderCharts(JSON.parse(document.getElementById("ops-data").textContent).charts || {});
  window.setTimeout(refresh, refreshMs);
})();
