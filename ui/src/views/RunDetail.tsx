// One run: the task, a live progress timeline, summary or error, cost, permission denials,
// and the drafts rendered as sanitized Markdown with Copy / Open / Reveal. Approve closes the
// task; Request changes sends feedback for a rework.
import { useCallback, useEffect, useState } from "react";
import type { RunView } from "../bindings/RunView";
import { StatusChip } from "../components/Chip";
import { ErrorNote } from "../components/ErrorNote";
import { Markdown } from "../components/Markdown";
import { duration, money, when } from "../format";
import { api, errorMessage, onEvent, stop } from "../ipc";

async function copy(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

export function RunDetail({ id, onBack }: { id: number; onBack: () => void }) {
  const [view, setView] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [feedback, setFeedback] = useState("");
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setView(await api.run(id));
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [id]);

  useEffect(() => {
    load();
    const un = onEvent((ev) => {
      if (ev.type === "progress" && ev.run_id === id) {
        setView((v) => (v ? { ...v, run: { ...v.run, progress: [...v.run.progress, { at: new Date().toISOString(), line: ev.line }] } } : v));
      }
      if (ev.type === "run_finished" && ev.run_id === id) load();
    });
    return stop(un);
  }, [id, load]);

  const act = async (f: () => Promise<void>, done: string) => {
    setBusy(true);
    try {
      await f();
      setNote(done);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  if (!view) {
    return (
      <section>
        <button type="button" className="link" onClick={onBack}>← Activity</button>
        {error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>}
      </section>
    );
  }
  const r = view.run;
  const reviewable = r.status === "succeeded" && r.review === null;
  return (
    <section aria-labelledby="run-title" className="run">
      <button type="button" className="link" onClick={onBack}>← Activity</button>
      <header className="page-head">
        <h1 id="run-title">{r.task_title}</h1>
        <StatusChip status={r.status} />
      </header>
      <p className="muted">
        Run #{r.id} · {r.employee} · attempt {r.attempt} of {r.max_attempts} · {when(r.started_at)} · {duration(r)}
        {r.task_url && (
          <>
            {" · "}
            <button type="button" className="link" title={r.task_url} onClick={() => act(() => api.openTask(r.id), "Opened the task in your browser.")}>
              {view.open_task_words}
            </button>
          </>
        )}
      </p>
      {r.task_description && <p className="description">{r.task_description}</p>}
      <ErrorNote error={error} />
      {note && <p className="ok-note" role="status">{note}</p>}
      {r.review && <p className="ok-note">{r.review === "approved" ? "Approved: the task is closed." : "Changes requested: the employee will rework it."}</p>}

      <div className="metrics">
        <div><span>Cost</span>{money(r.cost_usd)}</div>
        <div><span>Tokens in / out</span>{r.tokens_in ?? "—"} / {r.tokens_out ?? "—"}</div>
        <div><span>Turns</span>{r.turns ?? "—"}</div>
        <div><span>Exit code</span>{r.exit_code ?? "—"}</div>
      </div>
      {r.sandbox && (
        <p className={r.sandbox === "off" || r.sandbox.startsWith("none") ? "muted warn-text" : "muted"} data-testid="run-sandbox">
          OS sandbox: {r.sandbox === "off" ? "off — the agent could read and change anything you can" : r.sandbox}
        </p>
      )}

      {r.summary && (
        <>
          <h2>Summary</h2>
          <p className="summary-text">{r.summary}</p>
        </>
      )}
      {r.error && (
        <>
          <h2>What went wrong</h2>
          <p className="error-note">{r.error}</p>
        </>
      )}
      {r.stderr_tail && (
        <details>
          <summary>End of the agent's error output</summary>
          <pre>{r.stderr_tail}</pre>
        </details>
      )}
      {r.permission_denials.length > 0 && (
        <>
          <h2>Refused tool calls</h2>
          <ul className="denials">
            {r.permission_denials.map((d, i) => (
              <li key={i}><code>{d.tool_name}</code> {JSON.stringify(d.tool_input)}</li>
            ))}
          </ul>
        </>
      )}

      <h2>Progress</h2>
      {r.progress.length === 0 ? (
        <p className="muted">{r.status === "running" ? "Waiting for the agent's first step…" : "No progress was recorded."}</p>
      ) : (
        <ol className="timeline" data-testid="timeline">
          {r.progress.map((p, i) => (
            <li key={i}>
              <time>{new Date(p.at).toLocaleTimeString()}</time> {p.line}
            </li>
          ))}
        </ol>
      )}

      <h2>Drafts</h2>
      {view.drafts.length === 0 && <p className="muted">No files were written in this run.</p>}
      {view.drafts.map((d) => (
        <article key={d.path} className="draft" data-testid="draft">
          <header>
            <code>{d.path}</code>
            {!d.inside_workspace && <span className="chip blocked">outside the workspace</span>}
            <span className="row">
              {d.content !== null && (
                <button type="button" className="secondary small" onClick={() => copy(d.content ?? "").then(() => setNote(`Copied ${d.path}`))}>Copy</button>
              )}
              <button type="button" className="secondary small" onClick={() => act(() => api.openDraft(r.id, d.path, false), `Opened ${d.path}`)}>Open in editor</button>
              <button type="button" className="secondary small" onClick={() => act(() => api.openDraft(r.id, d.path, true), `Showed ${d.path} in its folder`)}>Reveal in folder</button>
            </span>
          </header>
          {d.content !== null ? <Markdown text={d.content} /> : <p className="muted">{d.problem}</p>}
        </article>
      ))}

      {reviewable && (
        <div className="review">
          <h2>Your review</h2>
          <div className="row">
            <button type="button" disabled={busy} onClick={() => act(() => api.approve(r.id), "Approved: the task is closed.")}>Approve and close the task</button>
          </div>
          <label>
            Request changes
            <textarea value={feedback} onChange={(e) => setFeedback(e.target.value)} placeholder="What should change? This goes to the agent as it is." rows={3} />
          </label>
          <button type="button" className="secondary" disabled={busy || feedback.trim() === ""} onClick={() => act(() => api.requestChanges(r.id, feedback), "Sent. The employee will rework the task at its next poll.")}>
            Request changes
          </button>
        </div>
      )}
    </section>
  );
}
