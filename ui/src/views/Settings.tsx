// Settings: each source's token (set / test / remove; never shown — the sources and their
// words come from the backend), start at login, which notifications to show, a daily budget
// across all employees, and the theme.
import { useEffect, useState } from "react";
import type { SettingsView } from "../bindings/SettingsView";
import type { SourceInfo } from "../bindings/SourceInfo";
import type { TokenStatus } from "../bindings/TokenStatus";
import { ErrorNote } from "../components/ErrorNote";
import { Words } from "../components/Words";
import { api, errorMessage, onToken, stop } from "../ipc";
import { applyTheme, loadTheme, type ThemeChoice } from "../theme";

function tokenText(t: TokenStatus | null): string {
  if (!t) return "Checking…";
  return t.summary;
}

const KINDS: { key: keyof SettingsView["notifications"]; label: string }[] = [
  { key: "draft_ready", label: "A draft is ready for review" },
  { key: "question", label: "An employee asks you something" },
  { key: "gave_up", label: "An employee gave up on a task" },
  { key: "budget_reached", label: "A daily budget is reached" },
  { key: "token_rejected", label: "A connected service (Todoist, GitHub, Linear) rejects its token" },
  { key: "needs_attention", label: "An employee needs attention (agent not logged in, a limit reached)" },
];

/** One source's connection: its token's state, and set / test / remove. */
function Connection({ info }: { info: SourceInfo }) {
  const [token, setToken] = useState<TokenStatus | null>(null);
  const [input, setInput] = useState("");
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const kind = info.kind;
  const title = `${info.title} connection`;
  const id = `connection-${kind}`;

  useEffect(() => {
    api.tokenStatus(kind).then(setToken);
    const un = onToken((t) => {
      if (t.source === kind) setToken(t);
    });
    return stop(un);
  }, [kind]);

  const act = async (f: () => Promise<string>) => {
    try {
      setNote({ ok: true, text: await f() });
    } catch (e) {
      setNote({ ok: false, text: errorMessage(e) });
    }
  };

  return (
    <div role="group" aria-labelledby={id} className="connection">
      <h2 id={id}>{title}</h2>
      <p className="muted" data-testid={`token-state-${kind}`}>{tokenText(token)}</p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          act(async () => {
            setToken(await api.setToken(input, kind));
            setInput("");
            return `Saved. Connected as ${await api.checkToken(kind)}.`;
          });
        }}
      >
        <input
          aria-label={`${info.title} ${info.token_name}`}
          type="password"
          autoComplete="off"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          placeholder={`Paste a new ${info.token_name}`}
        />
        <button type="submit" disabled={!input.trim()}>Save</button>
        <button type="button" className="secondary" disabled={!token?.set} onClick={() => act(async () => `Connected as ${await api.checkToken(kind)}.`)}>
          Test
        </button>
        <button type="button" className="secondary" disabled={!token?.set || token.origin !== "keychain"} onClick={() => act(async () => {
          setToken(await api.clearToken(kind));
          return "Token removed from the keychain.";
        })}>Remove</button>
      </form>
      {info.token_help && <p className="hint">Where to get one: <Words text={info.token_help} />.</p>}
      {note && <p className={note.ok ? "ok-note" : "error-note"} role="status">{note.text}</p>}
    </div>
  );
}

export function Settings() {
  const [sources, setSources] = useState<SourceInfo[]>([]);
  const [settings, setSettings] = useState<SettingsView | null>(null);
  const [budget, setBudget] = useState("");
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api.sources().then((list) => setSources(list.filter((s) => s.token_env !== null))).catch(() => setSources([]));
    api.settings().then((s) => {
      setSettings(s);
      setBudget(s.global_daily_usd == null ? "" : String(s.global_daily_usd));
    }).catch((e) => setError(errorMessage(e)));
  }, []);

  const save = async (next: SettingsView) => {
    setSettings(next);
    setSaved(false);
    try {
      await api.saveSettings(next);
      setError(null);
      setSaved(true);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <section aria-labelledby="settings-title" className="settings">
      <header className="page-head">
        <h1 id="settings-title">Settings</h1>
      </header>

      {sources.map((s) => (
        <Connection key={s.kind} info={s} />
      ))}

      <ErrorNote error={error} />
      {settings && (
        <>
          <h2>Start</h2>
          <label className="inline">
            <input type="checkbox" checked={settings.autostart} onChange={(e) => save({ ...settings, autostart: e.target.checked })} /> Start Delegate when I log in (in the tray, without opening this window)
          </label>

          <h2>Notifications</h2>
          {KINDS.map((k) => (
            <label key={k.key} className="inline">
              <input
                type="checkbox"
                checked={settings.notifications[k.key]}
                onChange={(e) => save({ ...settings, notifications: { ...settings.notifications, [k.key]: e.target.checked } })}
              />{" "}
              {k.label}
            </label>
          ))}

          <h2>Spending</h2>
          <form
            className="row"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              const v = budget.trim() === "" ? null : Number(budget);
              if (v !== null && !(v >= 0)) {
                setError("The daily budget must be a number of dollars, 0 or more — or empty for no limit.");
                return;
              }
              save({ ...settings, global_daily_usd: v });
            }}
          >
            <label>
              Daily budget across all employees ($)
              <input type="number" step="0.5" min="0" value={budget} onChange={(e) => setBudget(e.target.value)} placeholder="No limit" />
            </label>
            <button type="submit" className="secondary">Save budget</button>
          </form>
        </>
      )}

      <h2>Appearance</h2>
      <label>
        Theme
        <select value={theme} onChange={(e) => { const t = e.target.value as ThemeChoice; setTheme(t); applyTheme(t); }}>
          <option value="system">Follow the system</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
      {saved && <p className="ok-note" role="status">Saved.</p>}
    </section>
  );
}
