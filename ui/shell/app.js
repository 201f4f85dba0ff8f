// The status window: live employee states, recent runs and the Todoist token. It only
// shows what the engine reports and calls its commands; it decides nothing.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;
const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function errorText(e) {
  return e && e.message ? e.message : String(e);
}

function describe(employee) {
  const a = employee.activity;
  switch (a.state) {
    case "working":
      return ["working", "working", `On “${a.task_title}” (attempt ${a.attempt})`];
    case "paused":
      return ["paused", "paused", "Paused"];
    case "blocked":
      return ["blocked", "needs attention", a.message];
    default:
      if (employee.awaiting_review > 0) {
        const n = employee.awaiting_review;
        return ["review", "ready for review", `${n} draft${n === 1 ? "" : "s"} waiting for you`];
      }
      return ["idle", "idle", "Waiting for tasks"];
  }
}

function renderStatus(board) {
  const list = $("employees");
  list.replaceChildren();
  const employees = Object.values(board.employees);
  $("employees-empty").hidden = employees.length > 0;
  let working = 0, review = 0, blocked = 0;
  for (const e of employees) {
    const [kind, label, detail] = describe(e);
    if (kind === "working") working++;
    if (kind === "blocked") blocked++;
    review += e.awaiting_review;
    const card = el("li", "card");
    const name = el("div", "name", e.name);
    name.append(el("span", `chip ${kind}`, label));
    card.append(name, el("div", "detail", detail));
    list.append(card);
  }
  const parts = [];
  if (board.paused_all) parts.push("Paused");
  if (working) parts.push(`${working} working`);
  if (review) parts.push(`${review} ready for review`);
  if (blocked) parts.push(`${blocked} need${blocked === 1 ? "s" : ""} attention`);
  $("summary").textContent = employees.length === 0 ? "No employees yet" : parts.join(" · ") || "All quiet";
  const pause = $("pause");
  pause.textContent = board.paused_all ? "Resume all" : "Pause all";
  pause.dataset.paused = board.paused_all ? "1" : "";
}

function renderRuns(runs) {
  const body = $("runs").querySelector("tbody");
  body.replaceChildren();
  $("runs").hidden = runs.length === 0;
  $("runs-empty").hidden = runs.length > 0;
  for (const r of runs) {
    const row = el("tr");
    const status = el("td");
    status.append(el("span", `chip ${r.status}`, r.status.replace("_", " ")));
    const started = new Date(r.started_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    row.append(
      status,
      el("td", "", r.task_title),
      el("td", "", r.employee),
      el("td", "", started),
      el("td", "num", r.cost_usd == null ? "—" : `$${r.cost_usd.toFixed(2)}`),
    );
    body.append(row);
  }
}

async function renderToken() {
  const t = await invoke("token_status");
  const where = t.origin === "environment" ? "from the TODOIST_API_TOKEN variable" : "in the OS keychain";
  $("token-state").textContent = t.problem
    ? t.problem
    : t.set ? `A token is saved ${where}.` : "No token yet: local-queue employees work without one.";
}

async function refresh() {
  try {
    renderStatus(await invoke("get_status"));
    renderRuns(await invoke("list_runs", { query: { limit: 20 } }));
  } catch (e) {
    $("summary").textContent = errorText(e);
  }
}

function show(result, text, good) {
  result.textContent = text;
  result.className = good ? "good" : "bad";
}

async function main() {
  $("run-now").addEventListener("click", () => invoke("run_now"));
  $("pause").addEventListener("click", async () => {
    await invoke("set_paused", { employee: null, paused: !$("pause").dataset.paused });
  });
  $("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("token-input");
    try {
      await invoke("set_token", { token: input.value });
      input.value = "";
      show($("token-result"), "Saved in the OS keychain.", true);
    } catch (e) {
      show($("token-result"), errorText(e), false);
    }
    renderToken();
  });
  $("token-test").addEventListener("click", async () => {
    try {
      const user = await invoke("test_token");
      show($("token-result"), `Connected as ${user.full_name} <${user.email}>.`, true);
    } catch (e) {
      show($("token-result"), errorText(e), false);
    }
  });
  $("token-clear").addEventListener("click", async () => {
    await invoke("clear_token");
    show($("token-result"), "Token removed.", true);
    renderToken();
  });
  await listen("delegate://status", (e) => renderStatus(e.payload));
  await listen("delegate://token", () => renderToken());
  await listen("delegate://event", (e) => {
    const t = e.payload.type;
    if (t === "run_started" || t === "run_finished") refresh();
  });
  await refresh();
  await renderToken();
}

main();
