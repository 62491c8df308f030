// Draws the trace (lineage) of an execution or the segments of a workflow with cytoscape.js
// and the dagre layout (both vendored: the explorer never loads anything from elsewhere).
(function () {
  "use strict";
  var container = document.getElementById("graph");
  if (!container || !window.cytoscape) { return; }
  if (window.cytoscapeDagre) {
    try { cytoscape.use(cytoscapeDagre); } catch (ignored) { /* already registered */ }
  }
  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function short(cid) { return cid.length <= 20 ? cid : "\u2026" + cid.slice(-12); }

  var COLORS = {completed: "#2e9e50", failed: "#d0443b", in_progress: "#e0a020", created: "#9aa5b1"};
  var style = [
    {selector: "node", style: {
      "shape": "round-rectangle", "label": "data(label)", "text-wrap": "wrap", "text-valign": "center",
      "text-halign": "center", "font-size": 11, "color": "#fff", "width": "data(w)", "height": "data(h)", "background-color": "data(color)", "border-width": 1, "border-color": "#1d232b"}},
    {selector: "node[kind = 'event'], node[kind = 'input']", style: {"shape": "diamond",
      "background-color": "#6b4fa0", "font-size": 10}},
    {selector: "node[?cached]", style: {"border-style": "dashed", "border-width": 3}},
    {selector: "node[?root]", style: {"border-width": 4, "border-color": "#f0a500"}},
    {selector: "node[kind = 'segment']", style: {"background-color": "#17324f"}},
    {selector: "edge", style: {"width": 1.5, "line-color": "#8792a0", "target-arrow-color": "#8792a0",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "label": "data(label)", "font-size": 9,
      "color": "#5b6672", "text-background-color": "#fff", "text-background-opacity": 1}},
    {selector: "node:selected", style: {"overlay-color": "#f0a500", "overlay-opacity": 0.25}}
  ];

  var elements = [];
  var trace = readJSON("trace-data");
  var workflow = readJSON("workflow-graph");
  if (trace) {
    var names = readJSON("operation-names") || {};
    trace.nodes.forEach(function (n) {
      if (n.kind === "event") {
        elements.push({data: {id: n.hash, kind: "event", label: "event\nsegment " + n.segment,
          color: "#6b4fa0", hash: n.hash, inputs: n.inputs}});
      } else {
        elements.push({data: {id: n.hash, kind: "execution", hash: n.hash, status: n.status,
          color: COLORS[n.status] || "#9aa5b1", cached: n.cached_from !== null, root: n.hash === trace.root,
          label: (names[n.operation] || "?") + "\n" + n.segment + "." + n.step + " " + short(n.hash)}});
      }
    });
    var seen = {};
    trace.edges.forEach(function (edge) {
      var id = edge.from + ">" + edge.to;
      if (seen[id]) { return; }
      seen[id] = true;
      elements.push({data: {id: id, source: edge.from, target: edge.to, label: ""}});
    });
  } else if (workflow) {
    workflow.nodes.forEach(function (n) {
      elements.push({data: {id: n.id, kind: n.kind, label: n.label, color: "#17324f"}});
    });
    workflow.edges.forEach(function (edge, i) {
      elements.push({data: {id: "e" + i, source: edge.from, target: edge.to, label: edge.label}});
    });
  }

  // Size each node to its label (monospace-ish estimate); diamonds need more room.
  elements.forEach(function (element) {
    var data = element.data;
    if (data.source) { return; }
    var lines = String(data.label).split("\n");
    var longest = Math.max.apply(null, lines.map(function (l) { return l.length; }));
    var diamond = data.kind === "event" || data.kind === "input";
    data.w = Math.round(longest * 6.4 + (diamond ? 44 : 20));
    data.h = Math.round(lines.length * 13 + (diamond ? 34 : 14));
  });

  // Cytoscape injects a <style> for its container unless an element with this id exists; the
  // CSP refuses inline styles, and the rule it would add is in style.css.
  if (!document.getElementById("__________cytoscape_stylesheet")) {
    var marker = document.createElement("meta");
    marker.id = "__________cytoscape_stylesheet";
    document.head.appendChild(marker);
  }
  var cy = cytoscape({
    container: container, elements: elements, style: style,
    layout: {name: window.cytoscapeDagre ? "dagre" : "breadthfirst", rankDir: "LR", nodeSep: 30,
             rankSep: 50, directed: true, padding: 20}
  });
  // Fit the drawing's height to its shape (a long chain is wide and flat), within bounds.
  var bounds = cy.elements().boundingBox();
  if (bounds.w > 0) {
    var scale = Math.min(1.6, (container.clientWidth - 40) / bounds.w);
    container.style.height = Math.round(Math.max(220, Math.min(640, bounds.h * scale + 60))) + "px";
    cy.resize();
    cy.fit(undefined, 20);
  }
  window.catenaryGraph = cy;  // for the browser tests and the curious
  container.dataset.ready = "yes";

  var detail = document.createElement("p");
  detail.id = "graph-detail";
  detail.setAttribute("role", "status");
  container.insertAdjacentElement("afterend", detail);

  cy.on("tap", "node", function (evt) {
    var data = evt.target.data();
    if (data.kind === "execution") {
      window.location.href = "/executions/" + data.hash;
    } else if (data.kind === "event") {
      detail.replaceChildren(document.createTextNode("Event " + data.hash + " carried: "));
      data.inputs.forEach(function (cid, i) {
        var a = document.createElement("a");
        a.href = "/values/" + cid;
        a.textContent = short(cid);
        a.className = "cid";
        if (i) { detail.appendChild(document.createTextNode(", ")); }
        detail.appendChild(a);
      });
    }
  });
  cy.on("mouseover", "node[kind = 'execution']", function () { container.style.cursor = "pointer"; });
  cy.on("mouseout", "node", function () { container.style.cursor = ""; });
}());
