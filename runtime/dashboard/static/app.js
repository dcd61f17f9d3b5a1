// goray dashboard. Plain JavaScript, no dependencies: it reads the state
// API (/api/v0/...), renders one view at a time, and refetches the view
// when the event stream says that one of the kinds it shows changed.
"use strict";

const API = "/api/v0";
const PAGE = 50;

// ---- small helpers ----

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function bytes(n) {
  if (!n) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

function duration(ms) {
  if (ms < 0 || !isFinite(ms)) return "-";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}

function stateBadge(s) { return el("span", { class: "state " + (s || ""), text: s || "-" }); }

function bar(used, total, label) {
  const frac = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  const fill = el("span");
  fill.style.width = (frac * 100).toFixed(1) + "%";
  return el("span", { class: "bar" + (frac > 0.85 ? " hot" : ""), title: label }, fill, el("em", { text: label }));
}

function short(id) { return id && id.length > 14 ? id.slice(0, 14) + "…" : id || "-"; }

// ---- API access ----

const auth = { token: sessionStorage.getItem("goray-token") || "" };

class HTTPError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function api(path, opts) {
  const headers = {};
  if (auth.token) headers["Authorization"] = "Bearer " + auth.token;
  const resp = await fetch(API + path, Object.assign({ headers, cache: "no-store" }, opts || {}));
  if (resp.status === 401) {
    askToken((await resp.json().catch(() => ({}))).error || "unauthorized");
    throw new HTTPError(401, "unauthorized");
  }
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    throw new HTTPError(resp.status, body.error || resp.statusText);
  }
  return resp;
}

async function getJSON(path) { return (await api(path)).json(); }

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}

function askToken(msg) {
  document.getElementById("token-form").classList.remove("hidden");
  document.getElementById("token-msg").textContent = msg;
}

document.getElementById("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  auth.token = document.getElementById("token-input").value.trim();
  sessionStorage.setItem("goray-token", auth.token);
  document.getElementById("token-form").classList.add("hidden");
  live.restart();
  render();
});

function showError(err) {
  const box = document.getElementById("error");
  if (!err || err.status === 401) { box.classList.add("hidden"); return; }
  box.textContent = String(err.message || err);
  box.classList.remove("hidden");
}

// ---- routing ----

// route() parses "#/view?k=v" into {view, params}.
function route() {
  const h = location.hash.replace(/^#\/?/, "");
  const [view, q] = h.split("?");
  return { view: view || "cluster", params: new URLSearchParams(q || "") };
}

function go(view, params) {
  const q = new URLSearchParams(params || {}).toString();
  location.hash = "#/" + view + (q ? "?" + q : "");
}

// Per-view paging and filter state survives refreshes of the same view.
const listState = {};
function ls(view) { return listState[view] || (listState[view] = { offset: 0, filter: "" }); }

function parseFilter(text) {
  const out = {};
  for (const part of text.split(/[\s,]+/)) {
    if (!part) continue;
    const i = part.indexOf("=");
    if (i <= 0) throw new Error("filter " + JSON.stringify(part) + " is not key=value");
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

// listView renders a filterable, paginated table from one list endpoint.
async function listView(root, o) {
  const st = ls(o.view);
  const filters = parseFilter(st.filter); // validated by apply()
  const data = await getJSON(o.path + qs(Object.assign({}, filters, { limit: PAGE, offset: st.offset })));
  const input = el("input", { type: "text", value: st.draft !== undefined ? st.draft : st.filter, placeholder: o.placeholder || "filter: key=value …", "data-testid": o.view + "-filter" });
  const apply = () => {
    try { parseFilter(input.value); } catch (e) { showError(e); return; }
    st.filter = input.value; st.draft = undefined; st.offset = 0; render();
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") apply(); });
  const from = data.total ? data.offset + 1 : 0;
  const to = data.offset + data.items.length;
  const pager = el("span", { class: "pager", "data-testid": o.view + "-pager", text: `${from}–${to} of ${data.total}` });
  const prev = el("button", { type: "button", "data-testid": o.view + "-prev", text: "‹ prev", disabled: data.offset === 0, onclick: () => { st.offset = Math.max(0, st.offset - PAGE); render(); } });
  const next = el("button", { type: "button", "data-testid": o.view + "-next", text: "next ›", disabled: to >= data.total, onclick: () => { st.offset += PAGE; render(); } });
  const tbody = el("tbody");
  for (const it of data.items) tbody.append(o.row(it));
  root.replaceChildren(
    el("h2", { text: o.title }),
    el("div", { class: "toolbar" }, input, el("button", { type: "button", text: "Filter", onclick: apply }), prev, next, pager),
    el("table", { "data-testid": o.view + "-table" }, el("thead", {}, el("tr", {}, o.columns.map((c) => el("th", { text: c })))), tbody),
  );
  if (!data.items.length) tbody.append(el("tr", {}, el("td", { colspan: o.columns.length, class: "muted", text: "nothing matches" })));
}

// ---- views ----

function resCell(n, name) {
  const tot = (n.resources_total || {})[name] || 0;
  if (!tot) return el("span", { class: "muted", text: "-" });
  const used = tot - ((n.resources_available || {})[name] || 0);
  return bar(used, tot, `${+used.toFixed(2)} / ${tot}`);
}

async function viewCluster(root) {
  const data = await getJSON("/nodes" + qs({ limit: 1000 }));
  let alive = 0, cpu = 0, cpuUsed = 0, store = 0, storeLim = 0;
  const rows = data.items.map((n) => {
    if (n.state === "ALIVE") {
      alive++;
      const t = (n.resources_total || {}).CPU || 0;
      cpu += t; cpuUsed += t - ((n.resources_available || {}).CPU || 0);
      store += n.object_store_used; storeLim += n.object_store_limit;
    }
    return el("tr", { "data-testid": "node-row", "data-node-id": n.node_id, "data-state": n.state },
      el("td", {}, el("b", { text: n.name || n.node_id }), n.is_head ? el("span", { class: "muted", text: " head" }) : null,
        el("div", { class: "mono muted", text: n.node_id })),
      el("td", {}, stateBadge(n.state)),
      el("td", { class: "mono", text: n.address }),
      el("td", {}, resCell(n, "CPU")),
      el("td", {}, resCell(n, "GPU")),
      el("td", {}, bar(n.cpu_percent, 100, n.cpu_percent.toFixed(0) + "%")),
      el("td", {}, bar(n.memory_used, n.memory_total, `${bytes(n.memory_used)} / ${bytes(n.memory_total)}`)),
      el("td", {}, bar(n.object_store_used, n.object_store_limit, `${bytes(n.object_store_used)} / ${bytes(n.object_store_limit)}`)),
      el("td", { text: n.running_tasks }),
      el("td", {}, el("a", { href: "#/logs?" + new URLSearchParams({ node: n.node_id }), text: "log" })));
  });
  const card = (v, l) => el("div", { class: "card" }, el("b", { text: v }), el("small", { text: l }));
  root.replaceChildren(
    el("div", { class: "cards" },
      card(`${alive} / ${data.total}`, "nodes alive"),
      card(`${+cpuUsed.toFixed(1)} / ${cpu}`, "CPUs in use"),
      card(`${bytes(store)} / ${bytes(storeLim)}`, "object store")),
    el("h2", { text: "Nodes" }),
    el("table", { "data-testid": "nodes-table" },
      el("thead", {}, el("tr", {}, ["Node", "State", "Address", "CPU (scheduled)", "GPU", "Host CPU", "Host memory", "Object store", "Running", ""].map((c) => el("th", { text: c })))),
      el("tbody", {}, rows)));
}

// progressText is the live progress line a driver reports (jobs.Progress).
function progressText(p) {
  if (!p) return "";
  const parts = [];
  if (p.iteration) parts.push("iter " + p.iteration + (p.max_iterations ? "/" + p.max_iterations : ""));
  if (p.metric) parts.push(`${p.metric}=${(+p.value).toPrecision(4)}`);
  if (p.eta_s) parts.push("ETA " + duration(p.eta_s * 1000));
  if (p.text) parts.push(p.text);
  return parts.join("  ");
}

function jobRow(j) {
  const start = j.start_time ? Date.parse(j.start_time) : 0;
  const end = j.end_time ? Date.parse(j.end_time) : Date.now();
  return el("tr", { "data-testid": "job-row", "data-job-id": j.job_id, "data-state": j.status },
    el("td", { class: "mono", text: j.job_id }),
    el("td", { text: j.name }),
    el("td", { "data-testid": "job-state" }, stateBadge(j.status)),
    el("td", { text: j.kind }),
    el("td", { text: new Date(j.submit_time).toLocaleString() }),
    el("td", { text: start ? duration(end - start) : "-" }),
    el("td", { "data-testid": "job-progress", text: progressText(j.progress) }),
    el("td", { class: "wrap", text: j.message || "" }),
    el("td", {},
      el("a", { href: "#/logs?" + new URLSearchParams({ job: j.job_id }), "data-testid": "job-logs-link", text: "logs" }), " ",
      el("a", { href: "#/training?" + new URLSearchParams({ job: j.job_id }), "data-testid": "job-curve-link", text: "curve" })));
}

const views = {
  cluster: { kinds: ["nodes"], render: viewCluster },
  jobs: {
    kinds: ["jobs"],
    render: (root) => listView(root, {
      view: "jobs", path: "/jobs", title: "Jobs", placeholder: "filter: status=RUNNING kind=rllib …",
      columns: ["Job ID", "Name", "Status", "Kind", "Submitted", "Duration", "Progress", "Message", ""], row: jobRow,
    }),
  },
  actors: {
    kinds: ["actors"],
    render: (root) => listView(root, {
      view: "actors", path: "/actors", title: "Actors", placeholder: "filter: state=ALIVE class_name=Learner …",
      columns: ["Actor ID", "Class", "Name", "State", "Node", "PID", "Restarts", "Job", "Death cause"],
      row: (a) => el("tr", { "data-testid": "actor-row", "data-state": a.state },
        el("td", { class: "mono", text: a.actor_id }), el("td", { text: a.class_name }), el("td", { text: a.name || "" }),
        el("td", {}, stateBadge(a.state)), el("td", { class: "mono", text: short(a.node_id) }), el("td", { text: a.pid || "" }),
        el("td", { text: a.num_restarts }), el("td", { class: "mono", text: short(a.job_id) }), el("td", { class: "wrap", text: a.death_cause || "" })),
    }),
  },
  tasks: { kinds: ["tasks"], render: viewTasks },
  "placement-groups": {
    kinds: ["placement_groups"],
    render: (root) => listView(root, {
      view: "placement-groups", path: "/placement_groups", title: "Placement groups", placeholder: "filter: state=CREATED …",
      columns: ["ID", "Name", "State", "Strategy", "Job", "Bundles"],
      row: (p) => el("tr", { "data-testid": "pg-row", "data-state": p.state },
        el("td", { class: "mono", text: p.placement_group_id }), el("td", { text: p.name }), el("td", {}, stateBadge(p.state)),
        el("td", { text: p.strategy }), el("td", { class: "mono", text: short(p.job_id) }),
        el("td", { class: "wrap mono", text: (p.bundles || []).map((b) => `#${b.index} ${JSON.stringify(b.resources)}${b.node_id ? " @" + short(b.node_id) : ""}`).join("  ") })),
    }),
  },
  objects: { kinds: ["objects", "nodes"], render: viewObjects },
  training: { kinds: ["curves", "trials", "jobs"], render: viewTraining },
  logs: { kinds: [], render: viewLogs },
};

async function viewTasks(root) {
  const sum = await getJSON("/tasks/summary");
  const states = Object.keys(sum.by_state).sort();
  const fnTable = el("table", { "data-testid": "task-summary" },
    el("thead", {}, el("tr", {}, ["Function", "Total", ...states].map((c) => el("th", { text: c })))),
    el("tbody", {}, sum.by_function.map((f) => el("tr", { "data-testid": "task-fn-row" },
      el("td", { text: f.name }), el("td", { text: f.total }), states.map((s) => el("td", { text: f.by_state[s] || 0 }))))));
  const failures = el("table", { "data-testid": "task-failures" },
    el("thead", {}, el("tr", {}, ["Task", "Function", "Node", "Attempt", "Error"].map((c) => el("th", { text: c })))),
    el("tbody", {}, sum.failures.map((t) => el("tr", { "data-testid": "task-failure-row" },
      el("td", { class: "mono", text: t.task_id }), el("td", { text: t.name }), el("td", { class: "mono", text: short(t.node_id) }),
      el("td", { text: t.attempt }), el("td", { class: "wrap mono", text: (t.error_type ? t.error_type + ": " : "") + (t.error || "") })))));
  const list = el("div");
  root.replaceChildren(
    el("div", { class: "cards" }, el("div", { class: "card" }, el("b", { text: sum.total }), el("small", { text: "tasks" })),
      states.map((s) => el("div", { class: "card" }, el("b", { text: sum.by_state[s] }), el("small", {}, stateBadge(s))))),
    el("h2", { text: "By function" }), fnTable,
    el("h2", { text: `Failures (latest ${sum.failures.length} of ${sum.failures_total})` }), failures,
    list);
  await listView(list, {
    view: "tasks", path: "/tasks", title: "Tasks", placeholder: "filter: state=FAILED name=train_step …",
    columns: ["Task ID", "Function", "State", "Node", "Job", "Attempt", "Error"],
    row: (t) => el("tr", { "data-testid": "task-row", "data-state": t.state },
      el("td", { class: "mono", text: t.task_id }), el("td", { text: t.name }), el("td", {}, stateBadge(t.state)),
      el("td", { class: "mono", text: short(t.node_id) }), el("td", { class: "mono", text: short(t.job_id) }),
      el("td", { text: t.attempt }), el("td", { class: "wrap", text: t.error || "" })),
  });
}

async function viewObjects(root) {
  const nodes = await getJSON("/nodes" + qs({ state: "ALIVE", limit: 1000 }));
  const list = el("div");
  root.replaceChildren(
    el("h2", { text: "Object store per node" }),
    el("table", { "data-testid": "store-table" },
      el("thead", {}, el("tr", {}, ["Node", "Used", ""].map((c) => el("th", { text: c })))),
      el("tbody", {}, nodes.items.map((n) => el("tr", { "data-testid": "store-row" },
        el("td", { text: n.name || n.node_id }),
        el("td", {}, bar(n.object_store_used, n.object_store_limit, `${bytes(n.object_store_used)} / ${bytes(n.object_store_limit)}`)),
        el("td", { class: "muted", text: n.object_store_limit ? (100 * n.object_store_used / n.object_store_limit).toFixed(0) + "%" : "" }))))),
    list);
  await listView(list, {
    view: "objects", path: "/objects", title: "Objects", placeholder: "filter: spilled=true job_id=… owner_node_id=…",
    columns: ["Object ID", "Size", "Owner", "Owner node", "Locations", "Spilled", "Refs", "Job"],
    row: (o) => el("tr", { "data-testid": "object-row" },
      el("td", { class: "mono", text: o.object_id }), el("td", { text: bytes(o.size) }), el("td", { text: o.owner }),
      el("td", { class: "mono", text: short(o.owner_node_id) }), el("td", { class: "mono wrap", text: (o.locations || []).map(short).join(", ") }),
      el("td", { text: o.spilled ? "yes" : "" }), el("td", { text: o.ref_count }), el("td", { class: "mono", text: short(o.job_id) })),
  });
}

const COLORS = ["#2f6feb", "#12875b", "#c4320a", "#7a5af8", "#b54708", "#0e9384", "#dd2590", "#475467"];

// curveSVG draws reward against timesteps, one line per trial.
function curveSVG(points) {
  const W = 720, H = 300, L = 56, R = 32, T = 16, B = 36;
  const svg = svgEl("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-testid": "learning-curve", "data-points": points.length, role: "img" });
  const series = new Map();
  for (const p of points) {
    const k = p.trial_id || "";
    if (!series.has(k)) series.set(k, []);
    series.get(k).push(p);
  }
  const xs = points.map((p) => p.timesteps_total), ys = points.map((p) => p.episode_reward_mean);
  let x0 = Math.min(...xs, 0), x1 = Math.max(...xs, 1), y0 = Math.min(...ys, 0), y1 = Math.max(...ys, 1);
  if (y1 === y0) y1 = y0 + 1;
  if (x1 === x0) x1 = x0 + 1;
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  svg.append(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }), svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  const label = (x, y, text, anchor) => { const t = svgEl("text", { x, y, "text-anchor": anchor }); t.textContent = text; svg.append(t); };
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4, xv = x0 + ((x1 - x0) * i) / 4;
    label(L - 6, sy(yv) + 4, +yv.toPrecision(3), "end");
    label(sx(xv), H - B + 16, Math.round(xv).toLocaleString(), "middle");
  }
  label((L + W - R) / 2, H - 4, "timesteps", "middle");
  const t = svgEl("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" });
  t.textContent = "episode reward mean";
  svg.append(t);
  let i = 0;
  for (const [trial, pts] of series) {
    const color = COLORS[i++ % COLORS.length];
    if (pts.length >= 2) {
      const d = pts.map((p, j) => (j ? "L" : "M") + sx(p.timesteps_total).toFixed(1) + " " + sy(p.episode_reward_mean).toFixed(1)).join(" ");
      svg.append(svgEl("path", { class: "line", d, stroke: color, "data-trial": trial }));
    } else {
      svg.append(svgEl("circle", { cx: sx(pts[0].timesteps_total), cy: sy(pts[0].episode_reward_mean), r: 3, fill: color }));
    }
  }
  return { svg, series: [...series.keys()] };
}

async function viewTraining(root, params) {
  // Jobs that train: the RLlib and Tune kinds, newest first.
  const [rl, tu] = await Promise.all([getJSON("/jobs" + qs({ kind: "rllib", limit: 50 })), getJSON("/jobs" + qs({ kind: "tune", limit: 50 }))]);
  const jobs = [...rl.items, ...tu.items].sort((a, b) => Date.parse(b.submit_time) - Date.parse(a.submit_time));
  let job = params.get("job") || "";
  if (!job && jobs.length) job = jobs[0].job_id;
  const select = el("select", { "data-testid": "curve-job", onchange: (e) => go("training", { job: e.target.value }) });
  const ids = new Set(jobs.map((j) => j.job_id));
  if (job && !ids.has(job)) select.append(el("option", { value: job, text: job }));
  for (const j of jobs) select.append(el("option", { value: j.job_id, text: `${j.name} (${j.status}) ${j.job_id}` }));
  select.value = job;
  if (!job) {
    root.replaceChildren(el("h2", { text: "Training" }), el("p", { class: "muted", text: "No RLlib or Tune jobs yet." }));
    return;
  }
  const [curve, trials] = await Promise.all([getJSON("/curves/" + encodeURIComponent(job) + qs({ max_points: 1000 })), getJSON("/trials" + qs({ job_id: job, limit: 200 }))]);
  const { svg, series } = curveSVG(curve.points);
  const last = curve.points[curve.points.length - 1];
  const legend = el("div", { class: "legend" }, series.filter((s) => s).map((s, i) => el("span", {}, (() => { const b = el("i"); b.style.background = COLORS[i % COLORS.length]; return b; })(), s)));
  const tcols = ["Trial", "Status", "Iteration", "Config", "Metrics", "Node", "Error"];
  root.replaceChildren(
    el("h2", { text: "Learning curve" }),
    el("div", { class: "toolbar" }, select, el("span", { class: "muted", "data-testid": "curve-summary",
      text: !last ? "no results yet" : series.length > 1
        ? `${series.length} trials, ${curve.points.length} results, best reward ${Math.max(...curve.points.map((p) => p.episode_reward_mean)).toFixed(2)}`
        : `${last.iteration} iterations, ${last.timesteps_total.toLocaleString()} timesteps, reward ${(+last.episode_reward_mean).toFixed(2)}` })),
    svg, legend,
    el("h2", { text: `Tune trials (${trials.total})` }),
    el("table", { "data-testid": "trials-table" },
      el("thead", {}, el("tr", {}, tcols.map((c) => el("th", { text: c })))),
      el("tbody", {}, trials.items.map((x) => el("tr", { "data-testid": "trial-row", "data-state": x.status },
        el("td", { class: "mono", text: x.trial_id }), el("td", {}, stateBadge(x.status)), el("td", { text: x.training_iteration }),
        el("td", { class: "mono wrap", text: JSON.stringify(x.config || {}) }),
        el("td", { class: "mono wrap", text: Object.entries(x.metrics || {}).map(([k, v]) => `${k}=${+v.toPrecision(4)}`).join(" ") }),
        el("td", { class: "mono", text: short(x.node_id) }), el("td", { class: "wrap", text: x.error || "" }))))));
}

// The log view streams /logs with follow=1 into a <pre>; leaving the view
// aborts the request.
let logAbort = null;

async function viewLogs(root, params) {
  const sel = { node: params.get("node") || "", job: params.get("job") || "", worker: params.get("worker") || "" };
  const inputs = {};
  const form = el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); go("logs", Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]).filter(([, v]) => v))); } });
  for (const k of ["job", "node", "worker"]) {
    inputs[k] = el("input", { type: "text", value: sel[k], placeholder: k, "data-testid": "log-" + k });
    form.append(inputs[k]);
  }
  form.append(el("button", { type: "submit", text: "Show" }));
  const status = el("span", { class: "muted", "data-testid": "log-status" });
  form.append(status);
  const pre = el("pre", { class: "log", "data-testid": "log-text" });
  root.replaceChildren(el("h2", { text: "Logs" + (sel.job ? " of job " + sel.job : sel.worker ? " of worker " + sel.worker : sel.node ? " of node " + sel.node : "") }), form, pre);
  if (!sel.job && !sel.node && !sel.worker) { status.textContent = "choose a job, node or worker"; return; }
  const ctl = new AbortController();
  logAbort = ctl;
  status.textContent = "following…";
  try {
    const resp = await api("/logs" + qs(Object.assign({}, sel, { follow: 1 })), { signal: ctl.signal });
    const rd = resp.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await rd.read();
      if (done) break;
      const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(dec.decode(value, { stream: true }));
      if (stick) pre.scrollTop = pre.scrollHeight;
    }
    status.textContent = "end of log";
  } catch (e) {
    if (ctl.signal.aborted) return;
    status.textContent = "";
    throw e;
  }
}

// ---- rendering and live updates ----

let renderSeq = 0;
let current = { view: "", kinds: [] };

async function render() {
  const r = route();
  const v = views[r.view] || views.cluster;
  const seq = ++renderSeq;
  current = { view: r.view, kinds: v.kinds };
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.dataset.view === r.view);
  if (logAbort) { logAbort.abort(); logAbort = null; }
  // A live refresh must not eat what the user is typing into a filter.
  const active = document.activeElement;
  const focusID = active && active.tagName === "INPUT" ? active.dataset.testid : "";
  if (focusID && r.view !== "logs") ls(r.view).draft = active.value;
  // Render into a detached element and swap it in, so a slow response for
  // an old view never overwrites a newer one.
  const root = el("div");
  const main = document.getElementById("view");
  if (r.view === "logs") main.replaceChildren(root); // logs stream into the live DOM
  try {
    await v.render(root, r.params);
    if (seq !== renderSeq) return;
    if (r.view !== "logs") main.replaceChildren(root);
    main.dataset.view = r.view;
    if (focusID) {
      const i = main.querySelector(`[data-testid="${focusID}"]`);
      if (i) { i.focus(); i.setSelectionRange(i.value.length, i.value.length); }
    }
    showError(null);
  } catch (e) {
    if (seq === renderSeq) showError(e);
  }
}

// Coalesce refreshes: at most one render in flight plus one queued.
let refreshTimer = null;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; render(); }, 100);
}

// live follows /events with fetch (so the token goes in a header) and
// falls back to polling when the stream cannot be held open.
const live = {
  ctl: null, version: 0, poll: null, failures: 0,
  set(on, text) {
    const b = document.getElementById("live");
    b.classList.toggle("on", on);
    b.textContent = text;
  },
  restart() { if (this.ctl) this.ctl.abort(); this.failures = 0; this.start(); },
  startPolling() {
    if (this.poll) return;
    this.set(false, "polling");
    this.poll = setInterval(() => { if (current.view !== "logs") render(); }, 3000);
  },
  stopPolling() { if (this.poll) { clearInterval(this.poll); this.poll = null; } },
  async start() {
    const ctl = new AbortController();
    this.ctl = ctl;
    try {
      const resp = await api("/events" + qs({ since: this.version || "" }), { signal: ctl.signal });
      if (!resp.body || !resp.body.getReader) throw new Error("streaming not supported");
      this.stopPolling();
      this.failures = 0;
      this.set(true, "live");
      const rd = resp.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await rd.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          this.onEvent(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    if (ctl.signal.aborted) return;
    this.failures++;
    this.startPolling();
    setTimeout(() => this.start(), Math.min(30000, 1000 * 2 ** this.failures));
  },
  onEvent(block) {
    let name = "message", data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) name = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (!data) return;
    const c = JSON.parse(data);
    this.version = c.version;
    if (name === "change" && c.kinds.some((k) => current.kinds.includes(k))) refreshSoon();
  },
};

window.addEventListener("hashchange", render);
// Durations of running jobs tick even when nothing changes.
setInterval(() => { if (current.view === "jobs") refreshSoon(); }, 10000);
render();
live.start();
