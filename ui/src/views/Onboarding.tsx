// First run: from nothing to a first employee. Connect a source (Todoist, GitHub — the list and
// its words come from the backend: token tested live, saved in the keychain, project or
// repository picked from the account) or try it without an account on the local queue; check
// the agent CLI; choose the workspace and template; done.
import { useEffect, useState } from "react";
import type { AgentInfo } from "../bindings/AgentInfo";
import type { AgentKind } from "../bindings/AgentKind";
import { AgentStatus, agentLabel } from "../components/AgentStatus";
import type { SourceInfo } from "../bindings/SourceInfo";
import type { SourceKind } from "../bindings/SourceKind";
import type { Target } from "../bindings/Target";
import type { TokenStatus } from "../bindings/TokenStatus";
import type { Template } from "../bindings/Template";
import { ErrorNote } from "../components/ErrorNote";
import { Words } from "../components/Words";
import { api, errorMessage } from "../ipc";
import { withSetting } from "../sourceSettings";

type Step = "welcome" | "token" | "project" | "agent" | "workspace";

export function Onboarding({ onDone, onSkip }: { onDone: () => void; onSkip: () => void }) {
  const [step, setStep] = useState<Step>("welcome");
  const [sources, setSources] = useState<SourceInfo[]>([]);
  const [source, setSource] = useState<SourceKind>("local");
  // The source's settings asked here: its target, and those it asks on the first run.
  const [asked, setAsked] = useState<Record<string, string>>({});
  const [token, setToken] = useState("");
  const [user, setUser] = useState<string | null>(null);
  const [projects, setProjects] = useState<Target[]>([]);
  const [agents, setAgents] = useState<AgentInfo[] | null>(null);
  const [kind, setKind] = useState<AgentKind>("claude");
  const [templates, setTemplates] = useState<Template[]>([]);
  const [template, setTemplate] = useState("linkedin-writer");
  const [name, setName] = useState("LinkedIn Writer");
  const [workspace, setWorkspace] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.templates().then(setTemplates).catch(() => setTemplates([]));
    api.sources().then(setSources).catch(() => setSources([]));
  }, []);
  const info = sources.find((s) => s.kind === source) ?? null;
  const target = info?.settings.find((s) => s.target) ?? null;
  const project = target ? asked[target.key] ?? "" : "";
  const online = sources.filter((s) => s.token_env !== null);
  useEffect(() => {
    if (step === "agent" && !agents) {
      api.agents().then((list) => {
        const usable = list.filter((a) => a.kind !== "command");
        setAgents(usable);
        // Start from an agent that is ready on this machine, if there is one.
        const ready = usable.find((a) => a.found && a.login?.state === "ready") ?? usable.find((a) => a.found);
        if (ready) setKind(ready.kind);
      });
    }
    if (step === "workspace" && !workspace) api.suggestWorkspace(name).then(setWorkspace);
  }, [step, agents, workspace, name]);
  const agent = agents?.find((a) => a.kind === kind) ?? null;

  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  // A token this source already has (its variable, the keychain, or a tool such as the
  // GitHub CLI): offered before asking for one.
  const [existing, setExisting] = useState<TokenStatus | null>(null);
  useEffect(() => {
    if (step !== "token") return;
    let live = true;
    setExisting(null);
    api.tokenStatus(source).then((s) => live && setExisting(s.set ? s : null)).catch(() => live && setExisting(null));
    return () => {
      live = false;
    };
  }, [step, source]);

  const connect = (pasted: string | null) =>
    run(async () => {
      if (pasted !== null) await api.setToken(pasted, source);
      setUser(await api.checkToken(source));
      setProjects(await api.targets(source));
      setStep("project");
    });

  const finish = () =>
    run(async () => {
      const e = await api.templateEmployee(template || null, name.trim(), source, workspace.trim(), kind);
      e.command = null;
      let withAsked = e;
      for (const s of info?.settings ?? []) withAsked = withSetting(withAsked, s.key, (asked[s.key] ?? "").trim());
      await api.saveEmployee(withAsked, null, template || null);
      onDone();
    });

  const steps: Step[] = source !== "local" ? ["welcome", "token", "project", "agent", "workspace"] : ["welcome", "agent", "workspace"];
  const chosen = templates.find((t) => t.id === template);

  return (
    <div className="onboarding">
      <div className="panel">
        {step !== "welcome" && <p className="step-count">Step {steps.indexOf(step)} of {steps.length - 1}</p>}
        {step === "welcome" && (
          <>
            <h1>Welcome to Delegate</h1>
            <p>Delegate gives your to-do list a team: add a task, and a background AI employee writes a draft for you to review. Nothing is published without you.</p>
            <p>Where do your tasks live?</p>
            <div className="choices">
              {online.map((s) => (
                <button key={s.kind} type="button" onClick={() => { setSource(s.kind); setToken(""); setAsked({}); setError(null); setStep("token"); }}>Connect {s.title}</button>
              ))}
              <button type="button" className="secondary" onClick={() => { setSource("local"); setStep("agent"); }}>Try it without an account</button>
            </div>
            <button type="button" className="link" onClick={onSkip}>Skip for now</button>
          </>
        )}
        {step === "token" && (
          <form onSubmit={(e) => { e.preventDefault(); connect(token); }}>
            <h1>Connect {info?.title}</h1>
            {existing && (
              <div className="found-token">
                <p className="ok-note">{existing.summary}</p>
                <button type="button" disabled={busy} onClick={() => connect(null)}>{busy ? "Checking…" : "Continue with it"}</button>
                <p className="hint">
                  {existing.origin === "environment"
                    ? `While ${info?.token_env} is set, it is the one used: a token pasted below is kept in the keychain for when it is not.`
                    : "Or paste another one below."}
                </p>
              </div>
            )}
            <p>Paste your {info?.token_name}. It is stored in your system keychain and never shown again.</p>
            <div className="field">
              <input aria-label={`${info?.title} ${info?.token_name}`} type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
              {info?.token_help && <p className="hint">Where to get one: <Words text={info.token_help} />.</p>}
            </div>
            <ErrorNote error={error} />
            <div className="row">
              <button type="submit" className={existing ? "secondary" : undefined} disabled={busy || !token.trim()}>{busy ? "Checking…" : "Connect"}</button>
              <button type="button" className="secondary" onClick={() => setStep("welcome")}>Back</button>
            </div>
          </form>
        )}
        {step === "project" && (
          <>
            <h1>Pick the {info?.target_noun}</h1>
            <p className="ok-note">Connected as {user}.</p>
            <p>{info?.taken_words} go to your first employee.</p>
            <label>
              {target?.label}
              <select value={project} onChange={(e) => target && setAsked({ ...asked, [target.key]: e.target.value })}>
                <option value="">Choose a {info?.target_noun}…</option>
                {projects.map((p) => (
                  <option key={p.value} value={p.value}>{p.name}</option>
                ))}
              </select>
            </label>
            {info?.settings.filter((s) => s.first_run && !s.target).map((s) => (
              <label key={s.key}>
                {s.label}{s.required ? "" : " (optional)"}
                <input value={asked[s.key] ?? ""} onChange={(e) => setAsked({ ...asked, [s.key]: e.target.value })} placeholder={s.example} />
                {s.hint && <span className="hint">{s.hint}</span>}
              </label>
            ))}
            <div className="row">
              <button type="button" disabled={!project} onClick={() => setStep("agent")}>Continue</button>
            </div>
          </>
        )}
        {step === "agent" && (
          <>
            <h1>The agent</h1>
            <p>Employees hand tasks to an agent CLI running in the background on this computer.</p>
            {agents === null ? <p className="muted">Checking the agents on this computer…</p> : (
              <fieldset>
                <legend>Agent</legend>
                {agents.map((a) => (
                  <label key={a.kind} className="inline">
                    <input type="radio" name="agent" checked={kind === a.kind} onChange={() => setKind(a.kind)} /> {agentLabel(a)}
                  </label>
                ))}
              </fieldset>
            )}
            {agent && <AgentStatus agent={agent} />}
            <div className="row">
              <button type="button" className="secondary" onClick={() => setAgents(null)}>Check again</button>
              <button type="button" onClick={() => setStep("workspace")}>{agent?.found && agent.login?.state !== "not_ready" ? "Continue" : "Continue anyway"}</button>
            </div>
          </>
        )}
        {step === "workspace" && (
          <form onSubmit={(e) => { e.preventDefault(); finish(); }}>
            <h1>Your first employee</h1>
            <label>
              What should it do?
              <select value={template} onChange={(e) => {
                const t = templates.find((x) => x.id === e.target.value);
                setTemplate(e.target.value);
                if (t) { setName(t.title); setWorkspace(""); }
              }}>
                {templates.map((t) => (
                  <option key={t.id} value={t.id}>{t.title}</option>
                ))}
                <option value="">Something else (no template)</option>
              </select>
              {chosen && <span className="hint">{chosen.summary}.</span>}
            </label>
            <label>
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label>
              Workspace folder
              <input value={workspace} onChange={(e) => setWorkspace(e.target.value)} />
              <span className="hint">Created for you, with the template's rules, skills and reference notes. Edit the notes in reference/ to give it your voice.</span>
            </label>
            <ErrorNote error={error} />
            <div className="row">
              <button type="submit" disabled={busy || !name.trim() || !workspace.trim()}>{busy ? "Creating…" : "Create employee"}</button>
            </div>
          </form>
        )}
      </div>
    </div>
  );
}
