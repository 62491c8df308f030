// Live updates for the execution lists, the run page and the runs page.
// One EventSource on /api/executions/updates; the browser sends Last-Event-ID when it
// reconnects, so the server resumes after the last seq seen (nothing lost, nothing repeated).
(function () {
  "use strict";
  var table = document.querySelector("table[data-live]");
  if (!table || !window.EventSource) { return; }
  var announce = document.getElementById("live-status");
  var kind = table.dataset.live;
  var params = new URLSearchParams(table.dataset.params || "");
  params.set("since_seq", table.dataset.since || "0");
  var names = readJSON("operation-names");
  var workflowNames = readJSON("workflow-names");
  var workflowSegments = readJSON("workflow-segments");
  var newer = 0;

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }
  function pad(n, width) { n = String(n); while (n.length < width) { n = "0" + n; } return n; }
  function nsTime(ns) {
    if (ns === null || ns === undefined) { return "-"; }
    var d = new Date(Math.floor(ns / 1e6));
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2) + " " +
      pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." +
      pad(d.getUTCMilliseconds(), 3);
  }
  function ms(value) {
    if (value === null || value === undefined) { return "-"; }
    return value >= 1000 ? (value / 1000).toFixed(2) + " s" : value.toFixed(2) + " ms";
  }
  function short(cid) { return cid.length <= 20 ? cid : "\u2026" + cid.slice(-12); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function link(href, cid, title) {
    return el("a", {"class": "cid", href: href, title: title || cid}, short(cid));
  }
  function statusBadge(value) {
    return el("span", {"class": "status status-" + value}, value.replace("_", " "));
  }
  function cell(children, cls) {
    var td = el("td", cls ? {"class": cls} : {});
    children.forEach(function (c) { td.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return td;
  }
  function say(text) { if (announce) { announce.textContent = text; } }
  function clearEmpty(tbody) {
    var empty = tbody.querySelector("tr.empty");
    if (empty) { empty.remove(); }
  }

  function executionRow(e) {
    var tr = el("tr", {id: "row-" + e.hash, "data-hash": e.hash, "data-seq": e.seq, "class": "fresh"});
    var output = e.output ? [link("/values/" + e.output, e.output)]
      : (e.error ? [el("span", {"class": "error-text"}, e.error.slice(0, 60))] : []);
    var cached = e.cached_from ? [el("a", {href: "/executions/" + e.cached_from,
      title: "cached from " + e.cached_from}, "cached")] : [];
    var dur = (e.started_at !== null && e.finished_at !== null) ? ms((e.finished_at - e.started_at) / 1e6) : "-";
    tr.appendChild(cell([link("/executions/" + e.hash, e.hash)]));
    tr.appendChild(cell([names[e.operation] || "?"]));
    tr.appendChild(cell([e.segment + "." + e.step], "num"));
    tr.appendChild(cell([statusBadge(e.status)], "js-status"));
    tr.appendChild(cell(output, "js-output"));
    tr.appendChild(cell(cached, "js-cached"));
    tr.appendChild(cell([dur], "num"));
    tr.appendChild(cell([el("time", {datetime: String(e.created_at)}, nsTime(e.created_at))]));
    return tr;
  }

  function onExecution(e) {
    var tbody = table.tBodies[0];
    var existing = document.getElementById("row-" + e.hash);
    if (existing) {
      existing.replaceWith(executionRow(e));
      if (table.dataset.run) { refreshRun(table.dataset.run); }
      return;
    }
    if (table.dataset.firstPage !== "yes") {
      newer += 1;  // on a later page, newer executions belong on the first page
      say(newer + " newer execution(s) since this page was loaded.");
      return;
    }
    clearEmpty(tbody);
    if (table.dataset.order === "asc") { tbody.appendChild(executionRow(e)); }
    else { tbody.insertBefore(executionRow(e), tbody.firstChild); }
    newer += 1;
    say(newer + " new execution(s) arrived live.");
    if (table.dataset.run) { refreshRun(table.dataset.run); }
  }

  function refreshRun(runId) {
    fetch("/api/runs/" + runId).then(function (r) { return r.ok ? r.json() : null; }).then(function (run) {
      if (!run) { return; }
      if (kind === "runs") { return updateRunRow(run); }
      var status = document.getElementById("run-status");
      status.replaceChildren(statusBadge(run.status));
      document.getElementById("run-progress").textContent = run.next_segment + " / " + run.segments;
      document.getElementById("run-time").firstChild.textContent = ms(run.total_time) + " ";
      document.getElementById("run-error").textContent = run.error || "-";
      document.getElementById("run-updated").textContent = nsTime(run.updated_at) + " UTC";
      var outputs = document.getElementById("run-outputs");
      outputs.replaceChildren();
      run.outputs.forEach(function (o) {
        var li = el("li");
        li.appendChild(document.createTextNode("segment " + o.segment + ": "));
        li.appendChild(link("/values/" + o.output, o.output));
        li.appendChild(document.createTextNode(" from "));
        li.appendChild(link("/executions/" + o.producer, o.producer));
        li.appendChild(document.createTextNode(" in " + ms(o.segment_time)));
        outputs.appendChild(li);
      });
    });
  }

  function updateRunRow(run) {
    var tbody = table.tBodies[0];
    var tr = el("tr", {id: "run-" + run.run, "data-run": run.run, "class": "fresh"});
    var name = workflowNames[run.workflow] || short(run.workflow);
    var segments = run.segments === null ? (workflowSegments[run.workflow] || "?") : run.segments;
    tr.appendChild(cell([link("/runs/" + run.run, run.run)]));
    tr.appendChild(cell([el("a", {href: "/workflows/" + run.workflow}, name)]));
    tr.appendChild(cell([statusBadge(run.status)], "js-run-status"));
    tr.appendChild(cell([run.next_segment + " / " + segments], "num js-run-progress"));
    tr.appendChild(cell([ms(run.total_time)], "num js-run-time"));
    tr.appendChild(cell([el("time", {datetime: String(run.created_at)}, nsTime(run.created_at))]));
    tr.appendChild(cell([el("time", {datetime: String(run.updated_at)}, nsTime(run.updated_at))], "js-run-updated"));
    var existing = document.getElementById("run-" + run.run);
    if (existing) { existing.replaceWith(tr); return; }
    clearEmpty(tbody);
    tbody.insertBefore(tr, tbody.firstChild);
    say("Run " + short(run.run) + " started.");
  }

  var pending = {};
  function onRunChange(e) {
    // Several executions of one run arrive together: refresh its row once per burst.
    if (pending[e.run]) { return; }
    pending[e.run] = true;
    setTimeout(function () { delete pending[e.run]; refreshRun(e.run); }, 150);
  }

  var source = new EventSource("/api/executions/updates?" + params.toString());
  source.addEventListener("execution", function (message) {
    var e = JSON.parse(message.data);
    if (kind === "runs") { onRunChange(e); } else { onExecution(e); }
  });
  source.addEventListener("open", function () { table.dataset.liveReady = "yes"; });
  source.addEventListener("failure", function (message) {
    say("Live updates stopped: " + JSON.parse(message.data).error);
    source.close();
  });
  window.addEventListener("pagehide", function () { source.close(); });
}());
