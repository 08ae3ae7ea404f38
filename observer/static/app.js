// The observer page: renders each snapshot the server pushes on
// api/events (server-sent events). Every value from the server is put in
// the page with textContent, never as HTML.
"use strict";

// node is the node shown: "" for the page's own, or another node of its
// cluster, whose snapshots the server reads over the cluster.
const state = { snap: null, sort: { key: "queue", asc: false }, detailPID: null, restarts: {}, node: "", es: null };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function pidButton(pid) {
  if (!pid) return el("span", { class: "beh", text: "(not running)" });
  return el("button", { class: "pid", text: pid, type: "button", "data-pid": pid, onclick: () => showDetail(pid) });
}

function renderMode(s) {
  const m = document.getElementById("mode");
  if (s.mutations) {
    m.className = "mode on";
    m.textContent = "Mutations are ON: kill, suspend, resume and trace act on this node's processes.";
  } else {
    m.className = "mode";
    m.textContent = "Read-only: kill, suspend and trace are off (the server turns them on with observer.WithMutations).";
  }
}

function treeItem(n, path) {
  const key = path;
  const li = el("li", { class: "state-" + n.state, "data-id": n.id || "", "data-pid": n.pid || "", "data-state": n.state, "data-restarts": String(n.restarts) });
  const line = el("span", { class: "line" },
    el("span", { class: "id", text: n.id || (path.includes("/") ? "(dynamic child)" : "top") }), " ",
    el("span", { class: "beh", text: n.behaviour || n.type }), " ",
    pidButton(n.pid), " ",
    n.state !== "running" ? el("span", { class: "state", text: n.state }) : null,
    n.restarts > 0 ? el("span", { class: "restarts", title: "restarts seen", text: "↻ " + n.restarts }) : null,
    n.error ? el("span", { class: "error", text: " " + n.error }) : null);
  li.append(line);
  if ((state.restarts[key] || 0) < n.restarts) li.classList.add("flash");
  state.restarts[key] = n.restarts;
  if (n.children && n.children.length) {
    const ul = el("ul");
    for (const c of n.children) ul.append(treeItem(c, path + "/" + (c.id || c.pid)));
    li.append(ul);
  }
  return li;
}

function renderApps(s) {
  const box = document.getElementById("apps");
  const err = document.getElementById("apps-error");
  err.hidden = !s.appsError;
  err.textContent = s.appsError || "";
  box.replaceChildren();
  if (!s.apps.length) box.append(el("p", { class: "empty", text: "No application runs on this node." }));
  for (const a of s.apps) {
    const div = el("div", { class: "app", "data-app": a.name }, el("h3", { text: a.name }));
    if (a.error) div.append(el("p", { class: "error", text: a.error }));
    if (a.tree) div.append(el("ul", { class: "tree" }, treeItem(a.tree, a.name)));
    box.append(div);
  }
}

function renderRestarts(s) {
  const ol = document.getElementById("restarts");
  ol.replaceChildren();
  if (!s.restarts.length) ol.append(el("li", { class: "empty", text: "None seen since the page's server started watching." }));
  for (const r of s.restarts.slice().reverse()) {
    ol.append(el("li", { class: "restart", "data-id": r.id, "data-path": r.path },
      el("span", { text: new Date(r.time).toLocaleTimeString() + " " + r.path + " " }),
      pidButton(r.old), " → ", pidButton(r.new)));
  }
}

function renderProcesses(s) {
  const { key, asc } = state.sort;
  const list = s.processes.list.slice();
  const pidNum = p => p.replace(/[<>]/g, "").split(".").slice(-2).map(Number);
  list.sort((a, b) => {
    let c;
    if (key === "pid") {
      const [ai, as] = pidNum(a.pid), [bi, bs] = pidNum(b.pid);
      c = ai - bi || as - bs;
    } else {
      const x = a[key] ?? "", y = b[key] ?? "";
      c = x < y ? -1 : x > y ? 1 : 0;
    }
    return asc ? c : -c;
  });
  for (const th of document.querySelectorAll("#processes th")) {
    th.classList.toggle("sorted", th.dataset.key === key);
    th.classList.toggle("asc", th.dataset.key === key && asc);
  }
  const tbody = document.querySelector("#processes tbody");
  tbody.replaceChildren(...list.map(p => el("tr", { "data-pid": p.pid },
    el("td", {}, pidButton(p.pid)), el("td", { text: p.name || "" }), el("td", { text: p.behaviour || "" }),
    el("td", { text: p.answered ? p.mode : p.mode + " (busy)" }), el("td", { class: "num queue", text: p.queue }),
    el("td", { class: "num", text: p.links }), el("td", { class: "num", text: p.monitors }),
    el("td", { class: "num", text: p.memory }))));
  const perr = document.getElementById("proc-error");
  perr.hidden = !s.processesError;
  perr.textContent = s.processesError || "";
  const shown = s.processes.list.length, total = s.processes.total;
  document.getElementById("proc-count").textContent = shown < total ? `(${shown} of ${total}, longest queues)` : `(${total})`;
}

function renderRegistry(s) {
  const box = document.getElementById("registry");
  box.replaceChildren();
  if (s.registryError) { box.append(el("p", { class: "error", text: s.registryError })); return; }
  if (!s.registry) { box.append(el("p", { class: "empty", text: "No registry given to the observer (observer.WithRegistry)." })); return; }
  if (!s.registry.scopes.length) box.append(el("p", { class: "empty", text: "No scope on this node." }));
  for (const sc of s.registry.scopes) {
    const div = el("div", { class: "scope", "data-scope": sc.name },
      el("h3", { text: `${sc.name} (${sc.nameCount} names, ${sc.groupCount} groups)` }));
    const names = el("ul", { class: "names" });
    for (const n of sc.names) names.append(el("li", { class: "name", "data-name": n.name }, el("span", { text: n.name + " " }), pidButton(n.pid)));
    const groups = el("ul", { class: "groups" });
    for (const g of sc.groups) {
      const li = el("li", { class: "group", "data-group": g.name }, el("span", { text: g.name + ": " }));
      for (const m of g.members) li.append(pidButton(m), " ");
      groups.append(li);
    }
    div.append(el("h4", { text: "Names" }), names, el("h4", { text: "Groups" }), groups);
    box.append(div);
  }
}

function renderCluster(s) {
  const box = document.getElementById("cluster");
  box.replaceChildren();
  const c = s.cluster;
  if (!c) { box.append(el("p", { class: "empty", text: "This node is not clustered (or was not given to the observer with observer.WithCluster)." })); return; }
  box.append(el("p", { text: `Envelopes received ${c.received}, dropped ${c.dropped}.` }));
  const tbody = el("tbody");
  for (const m of c.members) {
    let link;
    if (m.self) link = el("span", { text: "this page" });
    else if (m.observer) link = el("a", { href: m.observer, text: "open its observer" });
    else link = el("span", { class: "note", text: "no observer known for this node" });
    const here = m.node === s.node;
    const pick = el("button", { class: "pick", type: "button", "data-node": m.node, text: here ? "shown" : "show", disabled: here,
      title: m.self ? "this page's own node" : "read over the cluster (sys.Serve on both nodes)", onclick: () => pickNode(m.self ? "" : m.node) });
    tbody.append(el("tr", { class: "member" + (here ? " shown" : ""), "data-node": m.node }, el("td", { text: m.node }), el("td", { text: m.session }),
      el("td", {}, pick), el("td", {}, link)));
  }
  box.append(el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "Node" }), el("th", { text: "Session" }), el("th", { text: "Page" }), el("th", { text: "Observer" }))), tbody));
}

async function showDetail(pid) {
  state.detailPID = pid;
  const box = document.getElementById("detail");
  let d;
  try {
    const r = await fetch("api/process?pid=" + encodeURIComponent(pid));
    d = await r.json();
    if (!r.ok) { box.replaceChildren(el("p", { class: "error", text: d.error })); return; }
  } catch (e) { box.replaceChildren(el("p", { class: "error", text: String(e) })); return; }
  const dl = el("dl", { "data-pid": d.pid });
  const row = (k, v) => dl.append(el("dt", { text: k }), el("dd", { text: v == null ? "" : String(v) }));
  row("PID", d.pid); row("Name", d.name); row("Behaviour", d.behaviour || "plain process"); row("Mode", d.mode);
  row("Queue", d.queue); row("Parent", d.parent); row("Links", d.links.join(" ")); row("Monitors", d.monitors.join(" "));
  row("Monitored by", d.monitoredBy.join(" ")); row("Traps exits", d.trapExit); row("Uptime", d.uptime);
  row("Memory (estimate)", d.memory); row("Tracing", d.tracing);
  if (d.stats) row("Statistics", `${d.stats.MessagesIn} in, ${d.stats.RepliesOut} out`);
  const actions = el("div", { class: "actions" });
  const remote = state.snap && state.snap.remote;
  const on = state.snap && state.snap.mutations && !remote;
  const act = (label, path) => el("button", { type: "button", text: label, disabled: !on, title: on ? "" : "off: observer.WithMutations turns it on",
    onclick: () => mutate(path, d.pid) });
  actions.append(act("Kill", "api/kill"), act(d.mode === "suspended" ? "Resume" : "Suspend", d.mode === "suspended" ? "api/resume" : "api/suspend"),
    act(d.tracing ? "Trace off" : "Trace on", "api/trace?on=" + !d.tracing));
  box.replaceChildren(dl, actions, d.state ? el("pre", { class: "state", text: d.state }) : el("p", { class: "note", text: "This process does not show its state." }));
  if (remote) box.append(el("p", { class: "note", text: "A process of another node: kill, suspend and trace act on this page's own node only." }));
  else if (!on) box.append(el("p", { class: "note", text: "Read-only: the buttons above are off." }));
}

async function mutate(path, pid) {
  const sep = path.includes("?") ? "&" : "?";
  const r = await fetch(path + sep + "pid=" + encodeURIComponent(pid), { method: "POST" });
  const d = await r.json();
  if (!r.ok) { document.getElementById("detail").append(el("p", { class: "error", text: d.error })); return; }
  if (path !== "api/kill") showDetail(pid);
}

function render(s) {
  state.snap = s;
  document.getElementById("node").textContent = s.remote ? `${s.node} (read over the cluster from ${s.self})` : s.node;
  document.body.dataset.node = s.node;
  renderMode(s); renderApps(s); renderRestarts(s); renderProcesses(s); renderRegistry(s); renderCluster(s);
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
}

function connect() {
  const live = document.getElementById("live");
  const es = new EventSource("api/events" + (state.node ? "?node=" + encodeURIComponent(state.node) : ""));
  state.es = es;
  es.addEventListener("open", () => { live.className = "live"; live.textContent = "live"; });
  es.addEventListener("error", () => {
    live.className = "live off"; live.textContent = "reconnecting…";
    // The server refuses the stream of a node that left: show our own.
    if (es.readyState === EventSource.CLOSED && state.node && state.es === es) pickNode("");
  });
  es.addEventListener("snapshot", ev => { if (state.es === es) render(JSON.parse(ev.data)); });
}

// pickNode shows another node of the cluster ("" for the page's own).
function pickNode(node) {
  if (state.es) state.es.close();
  state.node = node;
  state.restarts = {};
  state.detailPID = null;
  document.getElementById("detail").replaceChildren(el("p", { class: "empty", text: "Pick a PID to see its status." }));
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const th of document.querySelectorAll("#processes th")) {
    th.addEventListener("click", () => {
      const k = th.dataset.key;
      state.sort = state.sort.key === k ? { key: k, asc: !state.sort.asc } : { key: k, asc: k === "pid" || k === "name" };
      if (state.snap) renderProcesses(state.snap);
    });
  }
  connect();
});
