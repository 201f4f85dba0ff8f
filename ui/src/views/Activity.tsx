// Activity: every run, newest first, filtered by employee, status and text. Pages are loaded
// by id (keyset), so the first page costs the same with 100 000 runs as with ten; rows update
// live while runs progress.
import { useCallback, useEffect, useRef, useState } from "react";
import type { RunStatus } from "../bindings/RunStatus";
import type { RunSummary } from "../bindings/RunSummary";
import { StatusChip } from "../components/Chip";
import { Empty, ErrorNote } from "../components/ErrorNote";
import { duration, money, when } from "../format";
import { api, errorMessage, onEvent, stop } from "../ipc";

const PAGE = 50;
const STATUSES: RunStatus[] = ["running", "needs_input", "succeeded", "nothing_to_do", "failed", "timed_out", "cancelled", "interrupted", "over_budget", "blocked", "lost_claim"];

export function mergeRuns(current: RunSummary[], fresh: RunSummary[]): RunSummary[] {
  const byId = new Map(current.map((r) => [r.id, r]));
  for (const r of fresh) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

export function Activity({ onOpen }: { onOpen: (id: number) => void }) {
  const [employee, setEmployee] = useState("");
  const [status, setStatus] = useState<RunStatus | "">("");
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [more, setMore] = useState(false);
  const [names, setNames] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const filters = useRef({ employee, status, query });
  filters.current = { employee, status, query };

  const fetchPage = useCallback(async (before: number | null) => {
    const f = filters.current;
    return api.runs({
      employee: f.employee || null,
      status: f.status || null,
      text: f.query || null,
      before_id: before,
      limit: PAGE,
    });
  }, []);

  useEffect(() => {
    api.employees().then((l) => setNames(l.map((v) => v.employee.name))).catch(() => setNames([]));
  }, []);

  useEffect(() => {
    const t = setTimeout(() => setQuery(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);

  useEffect(() => {
    let live = true;
    setRuns(null);
    fetchPage(null)
      .then((page) => {
        if (!live) return;
        setRuns(page);
        setMore(page.length === PAGE);
        setError(null);
      })
      .catch((e) => setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [employee, status, query, fetchPage]);

  useEffect(() => {
    const un = onEvent((ev) => {
      if (ev.type === "run_started" || ev.type === "run_finished") {
        fetchPage(null).then((page) => setRuns((cur) => mergeRuns(cur ?? [], page)));
      }
    });
    return stop(un);
  }, [fetchPage]);

  const loadMore = async () => {
    if (!runs || runs.length === 0) return;
    const last = runs[runs.length - 1];
    if (!last) return;
    try {
      const page = await fetchPage(last.id);
      setRuns(mergeRuns(runs, page));
      setMore(page.length === PAGE);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const filtered = employee !== "" || status !== "" || query !== "";
  return (
    <section aria-labelledby="activity-title">
      <header className="page-head">
        <h1 id="activity-title">Activity</h1>
      </header>
      <div className="filters" role="search">
        <select aria-label="Employee" value={employee} onChange={(e) => setEmployee(e.target.value)}>
          <option value="">All employees</option>
          {names.map((n) => (
            <option key={n} value={n}>{n}</option>
          ))}
        </select>
        <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value as RunStatus | "")}>
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>{s.replace("_", " ")}</option>
          ))}
        </select>
        <input aria-label="Search tasks" type="search" placeholder="Search task text…" value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <ErrorNote error={error} />
      {runs === null && !error && <p className="muted">Loading…</p>}
      {runs?.length === 0 && (
        <Empty>{filtered ? "No runs match these filters." : "No runs yet. Runs appear here as soon as an employee picks up a task."}</Empty>
      )}
      {runs && runs.length > 0 && (
        <table className="runs activity">
          <thead>
            <tr>
              <th>Status</th>
              <th>Task</th>
              <th>Employee</th>
              <th className="attempt">Attempt</th>
              <th>Started</th>
              <th className="duration">Duration</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} tabIndex={0} onClick={() => onOpen(r.id)} onKeyDown={(e) => e.key === "Enter" && onOpen(r.id)} data-testid="run-row">
                <td><StatusChip status={r.status} /></td>
                <td className="task" title={r.task_title}>{r.task_title}</td>
                <td>{r.employee}</td>
                <td className="attempt" title={`attempt ${r.attempt} of ${r.max_attempts}`}>{r.attempt}/{r.max_attempts}</td>
                <td>{when(r.started_at)}</td>
                <td className="duration">{duration(r)}</td>
                <td className="num">{money(r.cost_usd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && (
        <button type="button" className="secondary load-more" onClick={loadMore}>Load older runs</button>
      )}
    </section>
  );
}
