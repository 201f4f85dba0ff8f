// Add or edit an employee, with inline checks: name, project (from the account), the agent
// (installed, version, logged in), workspace, numbers in range, and the scope in plain words
// as the backend's agent file words it from the flags it really passes.
import { useEffect, useState } from "react";
import type { AgentInfo } from "../bindings/AgentInfo";
import type { AgentKind } from "../bindings/AgentKind";
import { AgentStatus, agentLabel } from "../components/AgentStatus";
import type { DeliverDrafts } from "../bindings/DeliverDrafts";
import type { Employee } from "../bindings/Employee";
import type { FieldProblem } from "../bindings/FieldProblem";
import type { NetworkRule } from "../bindings/NetworkRule";
import type { SandboxMode } from "../bindings/SandboxMode";
import type { SandboxView } from "../bindings/SandboxView";
import type { SourceInfo } from "../bindings/SourceInfo";
import type { Target } from "../bindings/Target";
import type { Template } from "../bindings/Template";
import { ErrorNote } from "../components/ErrorNote";
import { api, errorMessage } from "../ipc";
import { keepSettings, settingOf, withSetting, withSource } from "../sourceSettings";


/** The engine's problems by field (the first for each field). */
function byField(list: FieldProblem[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of Array.isArray(list) ? list : []) {
    if (!(p.field in out)) out[p.field] = p.message.replace(/^./, (c) => c.toUpperCase()) + ".";
  }
  return out;
}

function lines(v: string): string[] {
  return v.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

function numberOrNull(v: string): number | null {
  return v.trim() === "" ? null : Number(v);
}

export function EmployeeForm({
  original,
  initial,
  onCancel,
  onSaved,
}: {
  original: string | null;
  initial: Employee | null;
  onCancel: () => void;
  onSaved: () => void;
}) {
  const [e, setE] = useState<Employee | null>(initial);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [template, setTemplate] = useState<string>("");
  // The sources and their settings, and what the chosen one offers (projects,
  // repositories, teams), listed live from the account.
  const [sources, setSources] = useState<SourceInfo[]>([]);
  const [targets, setTargets] = useState<{ source: string; list: Target[] | null } | null>(null);
  const [targetsError, setTargetsError] = useState<string | null>(null);
  // Only the chosen source's list (another's may still be on screen while this one loads).
  const projects = targets && targets.source === e?.source ? targets.list : null;
  const [agents, setAgents] = useState<AgentInfo[]>([]);
  const [agent, setAgent] = useState<AgentInfo | null>(null);
  const [scope, setScope] = useState<string>("");
  const [sandbox, setSandbox] = useState<SandboxView | null>(null);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [touched, setTouched] = useState(false);

  useEffect(() => {
    api.templates().then(setTemplates).catch(() => setTemplates([]));
    if (!initial) {
      api.suggestWorkspace("new employee").then((ws) => api.templateEmployee(null, "", "local", ws)).then(setE).catch((x) => setError(errorMessage(x)));
    }
  }, [initial]);

  useEffect(() => {
    api.agents().then((list) => setAgents(Array.isArray(list) ? list : [])).catch(() => setAgents([]));
    api.sources().then((list) => setSources(Array.isArray(list) ? list : [])).catch(() => setSources([]));
  }, []);

  // The checks are the engine's own (the same as for config.toml), by field.
  const checkKey = e ? JSON.stringify(e) : "";
  useEffect(() => {
    if (!e) return;
    let live = true;
    api
      .checkEmployee(e)
      .then((list) => live && setProblems(byField(list)))
      .catch(() => live && setProblems({}));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [checkKey]);

  // The scope in words comes from the backend, from the flags the agent will really get.
  const scopeKey = e ? JSON.stringify([e.agent, e.command, e.args, e.allowed_tools, e.disallowed_tools, e.permission_mode]) : "";
  useEffect(() => {
    if (!e) return;
    let live = true;
    api.describeScope(e).then((s) => live && setScope(s ?? "")).catch(() => live && setScope(""));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scopeKey]);

  // The OS sandbox in words, its choices and this machine's support, from the backend.
  const sandboxKey = e ? JSON.stringify([e.name, e.agent, e.sandbox, e.sandbox_network, e.sandbox_fallback, e.sandbox_read, e.sandbox_write]) : "";
  useEffect(() => {
    if (!e) return;
    let live = true;
    api.describeSandbox(e).then((v) => live && setSandbox(v ?? null)).catch(() => live && setSandbox(null));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sandboxKey]);

  useEffect(() => {
    const source = e?.source;
    const needs = sources.find((s) => s.kind === source)?.settings.some((s) => s.target);
    if (!source || !needs || targets?.source === source) return;
    let live = true;
    setTargetsError(null);
    api
      .targets(source)
      .then((list) => live && setTargets({ source, list }))
      .catch((x) => {
        if (!live) return;
        setTargets({ source, list: null });
        setTargetsError(errorMessage(x));
      });
    return () => {
      live = false;
    };
  }, [e?.source, targets?.source, sources]);

  if (!e) return <p className="muted">Loading…</p>;
  const sourceInfo = sources.find((s) => s.kind === e.source);
  const set = (patch: Partial<Employee>) => setE({ ...e, ...patch });
  const show = (k: string) => (touched && problems[k] ? <span className="field-error">{problems[k]}</span> : null);

  const chooseTemplate = async (id: string) => {
    setTemplate(id);
    const ws = e.workspace || (await api.suggestWorkspace(e.name || id));
    const fresh = await api.templateEmployee(id || null, e.name, e.source, ws, e.agent);
    const kept = keepSettings(fresh, e, sources.find((s) => s.kind === e.source));
    setE({ ...kept, name: e.name || (templates.find((t) => t.id === id)?.title ?? ""), command: e.command });
  };

  const save = async () => {
    setTouched(true);
    const now = byField(await api.checkEmployee(e).catch(() => []));
    setProblems(now);
    if (Object.keys(now).length > 0) return;
    setSaving(true);
    try {
      await api.saveEmployee({ ...e, name: e.name.trim() }, original, original ? null : template || null);
      onSaved();
    } catch (x) {
      setError(errorMessage(x));
    } finally {
      setSaving(false);
    }
  };

  const info = agent ?? agents.find((a) => a.kind === e.agent) ?? null;
  const chooseAgent = (kind: AgentKind) => {
    setAgent(null);
    set({ agent: kind, command: null, model: "", max_task_usd: kind === "claude" ? e.max_task_usd : null, max_turns: kind === "claude" ? e.max_turns : null });
  };

  const toggleTool = (t: string) =>
    set({ allowed_tools: e.allowed_tools.includes(t) ? e.allowed_tools.filter((x) => x !== t) : [...e.allowed_tools, t] });

  return (
    <section aria-labelledby="form-title" className="form-page">
      <header className="page-head">
        <h1 id="form-title">{original ? `Edit ${original}` : "New employee"}</h1>
      </header>
      <ErrorNote error={error} />
      <form
        className="form"
        onSubmit={(ev) => {
          ev.preventDefault();
          save();
        }}
      >
        {!original && (
          <label>
            Template
            <select value={template} onChange={(ev) => chooseTemplate(ev.target.value)}>
              <option value="">None — start from defaults</option>
              {templates.map((t) => (
                <option key={t.id} value={t.id}>{`${t.title} — ${t.summary}`}</option>
              ))}
            </select>
            <span className="hint">Copies its rules, skill and reference notes into the workspace (never over your files).</span>
          </label>
        )}
        <label>
          Name
          <input value={e.name} onChange={(ev) => set({ name: ev.target.value })} placeholder="LinkedIn Writer" />
          {show("name")}
        </label>
        <fieldset>
          <legend>Tasks come from</legend>
          {sources.map((s) => (
            <label key={s.kind} className="inline">
              <input type="radio" checked={e.source === s.kind} onChange={() => setE(withSource(e, s, sources))} /> {s.target_words}
              {s.token_env === null ? " (no account)" : ""}
            </label>
          ))}
        </fieldset>
        {sourceInfo?.settings.map((s) => (
          <label key={s.key}>
            {s.label}
            {s.target && projects && projects.length > 0 ? (
              <select value={settingOf(e, s.key)} onChange={(ev) => setE(withSetting(e, s.key, ev.target.value))}>
                <option value="">Choose a {sourceInfo.target_noun}…</option>
                {settingOf(e, s.key) && !projects.some((p) => p.value === settingOf(e, s.key)) && (
                  <option value={settingOf(e, s.key)}>{settingOf(e, s.key)}</option>
                )}
                {projects.map((p) => (
                  <option key={p.value} value={p.value}>{p.name}</option>
                ))}
              </select>
            ) : (
              <input
                value={settingOf(e, s.key)}
                onChange={(ev) => setE(withSetting(e, s.key, ev.target.value))}
                placeholder={s.required ? s.example : `${s.example} (optional)`}
              />
            )}
            {s.target && targetsError && <span className="hint">{targetsError}</span>}
            {s.hint && <span className="hint">{s.hint}</span>}
            {show(s.key)}
          </label>
        ))}
        <label>
          Workspace folder
          <input value={e.workspace} onChange={(ev) => set({ workspace: ev.target.value })} />
          <span className="hint">Created if it does not exist. The agent works only inside it.</span>
          {show("workspace")}
        </label>
        <label>
          Agent
          <select value={e.agent} onChange={(ev) => chooseAgent(ev.target.value as AgentKind)}>
            {agents.length === 0 && <option value={e.agent}>{e.agent}</option>}
            {agents.map((a) => (
              <option key={a.kind} value={a.kind}>{a.kind === "command" ? "Any command (a local model, a script)" : agentLabel(a)}</option>
            ))}
          </select>
        </label>
        <label>
          {e.agent === "command" ? "Program" : "Agent command"}
          <span className="with-button">
            <input value={e.command ?? ""} placeholder={info?.kind === e.agent && e.agent !== "command" ? info.command : "/usr/local/bin/my-model"} onChange={(ev) => { set({ command: ev.target.value || null }); setAgent(null); }} />
            <button type="button" className="secondary small" onClick={() => api.checkAgent(e.agent, e.command ?? null).then(setAgent)}>Check</button>
          </span>
          {info && info.kind === e.agent && e.agent !== "command" && <AgentStatus agent={info} />}
          {agent && e.agent === "command" && <AgentStatus agent={agent} />}
          {show("command")}
        </label>
        {info?.uses_args && (
          <label>
            Arguments, one per line
            <textarea rows={3} value={(e.args ?? []).join("\n")} onChange={(ev) => set({ args: ev.target.value.split("\n").filter((a) => a !== "") })} />
            <span className="hint">{"{prompt}"} becomes the task; without it the task goes to the program's input. Its output becomes the summary.</span>
          </label>
        )}
        {e.agent !== "command" && (
          <label>
            Model
            <input value={e.model} placeholder="the agent's default" onChange={(ev) => set({ model: ev.target.value })} />
          </label>
        )}
        {info && info.kind === e.agent && info.tools.length > 0 && (
          <fieldset>
            <legend>Allowed tools</legend>
            <div className="tools">
              {info.tools.map((t) => (
                <label key={t.name} className="inline">
                  <input type="checkbox" checked={e.allowed_tools.includes(t.name)} onChange={() => toggleTool(t.name)} /> {t.name} <span className="hint">({t.what})</span>
                </label>
              ))}
            </div>
            {show("allowed_tools")}
          </fieldset>
        )}
        {scope && <p className="scope" aria-label="What it may do">{scope.replace(/^./, (c) => c.toUpperCase())}</p>}
        {sandbox && (
          <fieldset>
            <legend>OS sandbox</legend>
            <label>
              Sandbox
              <select value={e.sandbox} onChange={(ev) => set({ sandbox: ev.target.value as SandboxMode })}>
                {sandbox.modes.map((m) => (
                  <option key={m.value} value={m.value}>{m.label}</option>
                ))}
              </select>
            </label>
            {e.sandbox !== "off" && (
              <>
                <label>
                  Network
                  <select value={e.sandbox_network} onChange={(ev) => set({ sandbox_network: ev.target.value as NetworkRule })}>
                    {sandbox.networks.map((m) => (
                      <option key={m.value} value={m.value}>{m.label}</option>
                    ))}
                  </select>
                </label>
                <div className="grid">
                  <label>
                    Also readable, one path per line
                    <textarea rows={2} value={(e.sandbox_read ?? []).join("\n")} onChange={(ev) => set({ sandbox_read: lines(ev.target.value) })} />
                    {show("sandbox_read")}
                  </label>
                  <label>
                    Also writable, one path per line
                    <textarea rows={2} value={(e.sandbox_write ?? []).join("\n")} onChange={(ev) => set({ sandbox_write: lines(ev.target.value) })} />
                    {show("sandbox_write")}
                  </label>
                </div>
              </>
            )}
            <p className={e.sandbox === "off" ? "scope warn-text" : "scope"} aria-label="Sandbox">{sandbox.summary.replace(/^./, (c) => c.toUpperCase())}.</p>
            <span className="hint">{sandbox.machine}.</span>
            {sandbox.notes.map((n) => (
              <span key={n} className="field-error">{n}</span>
            ))}
          </fieldset>
        )}
        <div className="grid">
          <label>
            Timeout (seconds)
            <input type="number" value={e.timeout_secs} onChange={(ev) => set({ timeout_secs: Number(ev.target.value) })} />
            {show("timeout_secs")}
          </label>
          <label>
            Attempts
            <input type="number" value={e.max_attempts} onChange={(ev) => set({ max_attempts: Number(ev.target.value) })} />
            {show("max_attempts")}
          </label>
          <label>
            Poll every (seconds)
            <input type="number" value={e.poll_secs} onChange={(ev) => set({ poll_secs: Number(ev.target.value) })} />
            {show("poll_secs")}
          </label>
          {info?.uses_caps !== false && e.agent === "claude" && (
            <label>
              Cap per task ($)
              <input type="number" step="0.001" value={e.max_task_usd ?? ""} onChange={(ev) => set({ max_task_usd: numberOrNull(ev.target.value) })} />
              {show("max_task_usd")}
            </label>
          )}
          <label>
            Daily budget ($)
            <input type="number" step="0.01" value={e.daily_usd ?? ""} onChange={(ev) => set({ daily_usd: numberOrNull(ev.target.value) })} />
            {show("daily_usd")}
          </label>
        </div>
        <label>
          The end comment carries
          <select value={e.deliver_drafts} onChange={(ev) => set({ deliver_drafts: ev.target.value as DeliverDrafts })}>
            <option value="inline">the drafts themselves (read them on your phone)</option>
            <option value="attach">each draft as an attached file, its first lines in the comment</option>
            <option value="path">only where the drafts are on this computer</option>
          </select>
          <span className="hint">A draft longer than the task's comments allow is attached as a file where the service takes files (Todoist), else cut at a line with where the rest is.</span>
        </label>
        <label className="inline">
          <input type="checkbox" checked={e.live_progress} onChange={(ev) => set({ live_progress: ev.target.checked })} /> Post progress to the task as comments
        </label>
        <label className="inline">
          <input type="checkbox" checked={e.enabled} onChange={(ev) => set({ enabled: ev.target.checked })} /> Enabled
        </label>
        <div className="row">
          <button type="submit" disabled={saving}>{saving ? "Saving…" : "Save"}</button>
          <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
        </div>
      </form>
    </section>
  );
}
