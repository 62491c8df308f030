// Live updates for the events page: one EventSource on /api/events/updates; the browser sends
// Last-Event-ID (a position) when it reconnects, so nothing is lost or repeated. Rows are built
// with textContent and setAttribute only: event keys, emitters and data are untrusted.
(function () {
  "use strict";
  var table = document.querySelector("table[data-live-events]");
  if (!table || !window.EventSource) { return; }
  var announce = document.getElementById("live-status");
  var nodeEl = document.getElementById("node-id");
  var nodeId = nodeEl ? JSON.parse(nodeEl.textContent) : "";
  var firstPage = table.dataset.liveEvents === "yes";
  var arrived = 0;

  function pad(n, width) { n = String(n); while (n.length < width) { n = "0" + n; } return n; }
  function nsTime(ns) {
    var d = new Date(Math.floor(ns / 1e6));
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2) + " " +
      pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." +
      pad(d.getUTCMilliseconds(), 3);
  }
  function short(text) { return text.length <= 20 ? text : "\u2026" + text.slice(-12); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function td(child, cls) {
    var cell = el("td", cls ? {"class": cls} : {});
    cell.appendChild(child);
    return cell;
  }
  function say(text) { if (announce) { announce.textContent = text; } }

  function eventRow(e) {
    var tr = el("tr", {id: "event-" + e.id, "data-position": String(e.position), "class": "fresh"});
    tr.appendChild(td(el("a", {"class": "cid", href: "/events/" + e.id, title: e.id}, short(e.id))));
    tr.appendChild(td(el("code", {"class": "event-key"}, e.key)));
    tr.appendChild(td(el("code", {"class": "did", title: e.emitter},
      e.emitter === nodeId ? "this node" : short(e.emitter))));
    tr.appendChild(td(el("a", {"class": "cid", href: "/values/" + e.data, title: e.data}, short(e.data))));
    tr.appendChild(td(document.createTextNode(String(e.position)), "num"));
    tr.appendChild(td(el("time", {datetime: String(e.time)}, nsTime(e.time))));
    return tr;
  }

  function onEmitted(e) {
    arrived += 1;
    if (!firstPage) { say(arrived + " newer event(s) since this page was loaded."); return; }
    if (document.getElementById("event-" + e.id)) { return; }
    var tbody = table.tBodies[0];
    var empty = tbody.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    tbody.insertBefore(eventRow(e), tbody.firstChild);
    say(arrived + " new event(s) arrived live.");
  }

  var source = new EventSource("/api/events/updates?after=" + encodeURIComponent(table.dataset.after || "0"));
  source.addEventListener("emitted", function (message) { onEmitted(JSON.parse(message.data)); });
  source.addEventListener("open", function () { table.dataset.liveReady = "yes"; });
  source.addEventListener("failure", function (message) {
    say("Live updates stopped: " + JSON.parse(message.data).error);
    source.close();
  });
  window.addEventListener("pagehide", function () { source.close(); });
}());
