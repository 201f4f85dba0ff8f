// One run: the task's conversation (each run, the person's answers and feedback, in order),
// a live progress timeline, summary or error, cost, permission denials, and the drafts rendered
// as sanitized Markdown with Copy / Open / Reveal. A run that asks gets an answer box; Approve
// closes the task; Request changes sends feedback, which continues the agent's session.
import { useCallback, useEffect, useState } from "react";
import type { RunView } from "../bindings/RunView";
import type { Turn } from "../bindings/Turn";
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

/** The task's conversation as this machine recorded it, oldest first. */
function Thread({ turns, current, onOpen }: { turns: Turn[]; current: number; onOpen: (id: number) => void }) {
  return (
    <ol className="thread" data-testid="thread">
      {turns.flatMap((t) => {
        const items = [];
        if (t.input) {
          items.push(
            <li key={`in-${t.run_id}`} className="person">
              <div className="who">You wrote</div>
              {t.input}
            </li>,
          );
        }
        items.push(
          <li key={t.run_id} className={`agent${t.run_id === current ? " current" : ""}`}>
            <div className="who">
              <StatusChip status={t.status} />
              <span>{when(t.started_at)}</span>
              <span>{t.resumed ? "continued its session" : "fresh start"}</span>
              <span>{money(t.cost_usd)}</span>
              {t.run_id !== current && (
                <button type="button" className="link" onClick={() => onOpen(t.run_id)}>Run #{t.run_id}</button>
              )}
            </div>
            {t.questions.length > 0 ? (
              <ol>{t.questions.map((q, i) => <li key={i}>{q}</li>)}</ol>
            ) : (
              <span>{t.summary ?? t.error ?? "—"}</span>
            )}
          </li>,
        );
        return items;
      })}
    </ol>
  );
}

export function RunDetail({ id, onBack, onOpen }: { id: number; onBack: () => void; onOpen?: (id: number) => void }) {
  const [view, setView] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [feedback, setFeedback] = useState("");
  const [answer, setAnswer] = useState("");
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
  const latest = (view.thread.at(-1)?.run_id ?? r.id) === r.id;
  const reviewable = r.status === "succeeded" && r.review === null && latest;
  const asking = r.status === "needs_input" && latest;
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

      {asking && (
        <div className="questions" data-testid="questions">
          <h2>{r.employee} asks</h2>
          <ol>{r.questions.map((q, i) => <li key={i}>{q}</li>)}</ol>
          <label>
            Your answer
            <textarea value={answer} onChange={(e) => setAnswer(e.target.value)} placeholder="Answer in your own words. It goes to the agent as it is, and on the task as a comment." rows={4} />
          </label>
          <button type="button" disabled={busy || answer.trim() === ""} onClick={() => act(() => api.answer(r.id, answer).then(() => setAnswer("")), "Sent. The employee continues where it stopped at its next poll.")}>
            Send answer
          </button>
        </div>
      )}
      {view.thread.length > 1 && (
        <>
          <h2>Conversation</h2>
          <Thread turns={view.thread} current={r.id} onOpen={(n) => onOpen?.(n)} />
        </>
      )}

      <div className="metrics">
        <div><span>Cost{view.thread.length > 1 ? " (this run · task)" : ""}</span>{money(r.cost_usd)}{view.thread.length > 1 ? ` · ${money(view.task_cost_usd)}` : ""}</div>
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
