/// The web monitor: one self-contained page (no CDN, nothing loaded from elsewhere), drawn
/// by plain JavaScript and SVG from `/events` (server-sent `MonitorState` JSON). The first
/// state is embedded in the page, so it shows numbers before the first event arrives.
enum MonitorPage {
    /// The page with `stateJSON` embedded (`</` escaped so it cannot close the script).
    static func html(stateJSON: String) -> String {
        template.replacingOccurrences(of: "__INITIAL_STATE__", with: stateJSON.replacingOccurrences(of: "</", with: "<\\/"))
    }

    static let template = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lvsd monitor</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --line:#2a3642; --text:#d8e0e8; --dim:#8a99a8; --up:#3fb950; --down:#f85149; --accent:#58a6ff; --accent2:#d29922; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:24px; align-items:baseline; padding:14px 20px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  .stat { color:var(--dim); } .stat b { color:var(--text); font-variant-numeric:tabular-nums; }
  main { padding:16px 20px; display:grid; gap:16px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 16px; }
  h2 { font-size:15px; margin:0 0 8px; display:flex; gap:16px; align-items:baseline; flex-wrap:wrap; }
  h2 .stat { font-weight:normal; font-size:13px; }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th:first-child, td:first-child, .text { text-align:left; }
  th { color:var(--dim); font-weight:normal; }
  .UP { color:var(--up); font-weight:600; } .DOWN { color:var(--down); font-weight:600; } .unchecked { color:var(--dim); }
  .why { color:var(--dim); font-size:12px; white-space:normal; text-align:left; }
  .charts { display:flex; gap:16px; flex-wrap:wrap; margin:8px 0; }
  .chart { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:6px 8px; }
  .chart .label { color:var(--dim); font-size:12px; } .chart .now { float:right; font-variant-numeric:tabular-nums; }
  .fill { height:10px; width:220px; background:var(--bg); border:1px solid var(--line); border-radius:5px; overflow:hidden; display:inline-block; vertical-align:middle; }
  .fill div { height:100%; background:var(--accent); }
  .MASTER { color:var(--up); font-weight:600; } .BACKUP { color:var(--accent2); } .FAULT { color:var(--down); }
  #live { color:var(--dim); font-size:12px; }
</style>
</head>
<body>
<header>
  <h1>lvsd monitor</h1>
  <span class="stat">connections <b id="table">0</b> / <b id="capacity">0</b> <span class="fill"><div id="tablefill" style="width:0%"></div></span></span>
  <span class="stat">frames in <b id="frames">0</b>, forwarded <b id="forwarded">0</b></span>
  <span class="stat">VRRP <b id="vrrp">none</b></span>
  <span id="live">connecting…</span>
</header>
<main>
  <div id="services"></div>
  <section><h2>Drops by reason</h2><table id="drops"><thead><tr><th>reason</th><th>frames</th></tr></thead><tbody></tbody></table></section>
</main>
<script id="initial" type="application/json">__INITIAL_STATE__</script>
<script>
"use strict";
const HISTORY = 120;
const history = new Map();   // service name -> {cps: [], pin: [], pout: []}, oldest first
const fmt = n => n >= 1e9 ? (n/1e9).toFixed(1)+"G" : n >= 1e6 ? (n/1e6).toFixed(1)+"M" : n >= 1e4 ? (n/1e3).toFixed(1)+"k" : String(n);
const el = (tag, attrs, ...kids) => { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v); for (const k of kids) e.append(k); return e; };

function chart(label, values, color) {
  const w = 240, h = 56, max = Math.max(1, ...values);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const step = w / (HISTORY - 1), off = HISTORY - values.length;
  const points = values.map((v, i) => `${((off + i) * step).toFixed(1)},${(h - 2 - (v / max) * (h - 6)).toFixed(1)}`).join(" ");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points); line.setAttribute("fill", "none"); line.setAttribute("stroke", color); line.setAttribute("stroke-width", "1.5");
  svg.append(line);
  const box = el("div", {class: "chart"}, el("span", {class: "label"}, label), el("span", {class: "now"}, fmt(values.at(-1) ?? 0) + "/s"), el("br"));
  box.append(svg);
  return box;
}

function seed(s) {
  for (const [name, h] of Object.entries(s.history || {}))
    history.set(name, {cps: h.connections.slice(-HISTORY), pin: h.packetsIn.slice(-HISTORY), pout: h.packetsOut.slice(-HISTORY)});
}

function render(s, fresh) {
  document.getElementById("table").textContent = s.tableEntries;
  document.getElementById("capacity").textContent = s.tableCapacity;
  document.getElementById("tablefill").style.width = (s.tableCapacity ? Math.min(100, 100 * s.tableEntries / s.tableCapacity) : 0) + "%";
  document.getElementById("frames").textContent = s.framesReceived;
  document.getElementById("forwarded").textContent = s.framesForwarded;
  const vrrp = document.getElementById("vrrp");
  vrrp.replaceChildren(...(s.vrrp.length ? s.vrrp.flatMap((v, i) => [i ? " " : "", el("span", {class: v.state}, `${v.name} ${v.state}`)]) : ["none"]));
  const root = document.getElementById("services");
  const sections = [];
  for (const svc of s.services) {
    let h = history.get(svc.name);
    if (!h) { h = {cps: [], pin: [], pout: []}; history.set(svc.name, h); }
    if (fresh) { h.cps.push(svc.rates.connections); h.pin.push(svc.rates.packetsIn); h.pout.push(svc.rates.packetsOut); }
    for (const k of ["cps", "pin", "pout"]) if (h[k].length > HISTORY) h[k].shift();
    const rows = svc.realServers.map(rs => el("tr", {"data-endpoint": rs.endpoint},
      el("td", {}, rs.endpoint), el("td", {class: "text"}, rs.method), el("td", {class: "weight"}, rs.inTable ? String(rs.weight) : "out"),
      el("td", {class: rs.health + " health"}, rs.health), el("td", {class: "active"}, String(rs.activeConnections)),
      el("td", {class: "inactive"}, String(rs.inactiveConnections)), el("td", {class: "conns"}, String(rs.connections)),
      el("td", {}, fmt(rs.rates.connections)), el("td", {}, fmt(rs.rates.packetsIn)), el("td", {}, fmt(rs.rates.packetsOut)),
      el("td", {class: "why"}, rs.reason)));
    const table = el("table", {},
      el("thead", {}, el("tr", {}, ...["real server", "forward", "weight", "health", "active", "inactive", "connections", "conn/s", "pkt/s in", "pkt/s out", "why"].map(t => el("th", t === "forward" || t === "why" ? {class: "text"} : {}, t)))),
      el("tbody", {}, ...rows));
    sections.push(el("section", {"data-service": svc.name},
      el("h2", {}, svc.name, el("span", {class: "stat"}, `scheduler ${svc.scheduler}`), el("span", {class: "stat"}, "connections ", el("b", {class: "service-conns"}, String(svc.connections)))),
      el("div", {class: "charts"}, chart("connections/s", h.cps, "#58a6ff"), chart("packets/s in", h.pin, "#3fb950"), chart("packets/s out", h.pout, "#d29922")),
      table));
  }
  root.replaceChildren(...sections);
  const drops = Object.entries(s.drops).sort((a, b) => b[1] - a[1]);
  document.querySelector("#drops tbody").replaceChildren(...(drops.length ? drops.map(([r, n]) => el("tr", {}, el("td", {}, r), el("td", {}, String(n))))
    : [el("tr", {}, el("td", {class: "text"}, "none"), el("td", {}, "0"))]));
}

const initial = JSON.parse(document.getElementById("initial").textContent);
seed(initial);
render(initial, !initial.history);
const live = document.getElementById("live");
const events = new EventSource("events");
events.onmessage = m => { render(JSON.parse(m.data), true); live.textContent = "live, " + new Date().toLocaleTimeString(); };
events.onerror = () => { live.textContent = "reconnecting…"; };
</script>
</body>
</html>
"""#
}
