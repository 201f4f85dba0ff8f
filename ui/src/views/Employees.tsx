// Employees: live state, today's spend against the budget, last run, permissions in plain
// words; add, edit, delete, pause, run now.
import { useCallback, useEffect, useState } from "react";
import type { Board } from "../bindings/Board";
import type { EmployeeStatus } from "../bindings/EmployeeStatus";
import type { EmployeeView } from "../bindings/EmployeeView";
import { Chip } from "../components/Chip";
import { Empty, ErrorNote } from "../components/ErrorNote";
import { money } from "../format";
import { api, errorMessage, onStatus, stop } from "../ipc";
import { EmployeeForm } from "./EmployeeForm";

export function describe(status: EmployeeStatus | undefined, paused: boolean): [string, string, string] {
  if (!status) return ["idle", "idle", "Starts at its next poll"];
  const a = status.activity;
  if (a.state === "working") return ["working", "working", `On “${a.task_title}” (attempt ${a.attempt})`];
  if (a.state === "blocked") return ["blocked", "needs attention", a.message];
  if (a.state === "paused" || paused) return ["paused", "paused", "Paused — resume to pick up tasks again"];
  if (status.awaiting_answer > 0) {
    const n = status.awaiting_answer;
    const review = status.awaiting_review > 0 ? ` · ${status.awaiting_review} draft${status.awaiting_review === 1 ? "" : "s"} ready` : "";
    return ["question", "needs your answer", `${n === 1 ? "A question" : `${n} questions`} for you${review}`];
  }
  if (status.awaiting_review > 0) {
    const n = status.awaiting_review;
    return ["review", "waiting for review", `${n} draft${n === 1 ? "" : "s"} ready for you`];
  }
  return ["idle", "idle", "Waiting for tasks"];
}

type Editing = { original: string | null; view: EmployeeView | null } | null;

export function Employees({ board, onOpenRun, onSetup }: { board: Board | null; onOpenRun: (id: number) => void; onSetup: () => void }) {
  const [list, setList] = useState<EmployeeView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [confirm, setConfirm] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setList(await api.employees());
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    load();
    const un = onStatus(() => load());
    return stop(un);
  }, [load]);

  if (editing) {
    return (
      <EmployeeForm
        original={editing.original}
        initial={editing.view?.employee ?? null}
        onCancel={() => setEditing(null)}
        onSaved={() => {
          setEditing(null);
          load();
        }}
      />
    );
  }

  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <section aria-labelledby="employees-title">
      <header className="page-head">
        <h1 id="employees-title">Employees</h1>
        <button type="button" onClick={() => setEditing({ original: null, view: null })}>Add employee</button>
      </header>
      <ErrorNote error={error} />
      {list === null && !error && <p className="muted">Loading…</p>}
      {list?.length === 0 && (
        <Empty>
          <p>No employees yet. An employee takes tasks from a Todoist project, a GitHub repository, a Linear team or the local queue and works on them in its own folder.</p>
          <button type="button" onClick={onSetup}>Set up the first one</button>
        </Empty>
      )}
      <ul className="cards">
        {list?.map((v) => {
          const e = v.employee;
          const status = board?.employees[e.name];
          const [kind, label, detail] = describe(status, v.paused || !!board?.paused_all);
          const budget = e.daily_usd ?? null;
          const pct = budget ? Math.min(100, (v.spent_today / budget) * 100) : 0;
          return (
            <li key={e.name} className="card employee" data-testid={`employee-${e.name}`}>
              <div className="card-head">
                <h2>{e.name}</h2>
                <Chip kind={kind}>{label}</Chip>
                {e.sandbox === "off" && <Chip kind="unsandboxed">no sandbox</Chip>}
              </div>
              <p className="detail">{detail}</p>
              <dl className="facts">
                <dt>Tasks from</dt>
                <dd>{v.source_words}</dd>
                <dt>Access</dt>
                <dd>{v.permissions}</dd>
                <dt>Sandbox</dt>
                <dd className={e.sandbox === "off" ? "warn-text" : undefined}>{v.sandbox}</dd>
                <dt>Today</dt>
                <dd>
                  {money(v.spent_today)}
                  {budget != null ? ` of ${money(budget)}` : " (no daily limit)"}
                  {budget != null && (
                    <progress className="budget" max={100} value={pct} aria-label="Share of today's budget spent" />
                  )}
                </dd>
                {status?.last_run && (
                  <>
                    <dt>Last run</dt>
                    <dd>
                      <button type="button" className="link" onClick={() => onOpenRun(status.last_run![0])}>
                        #{status.last_run[0]} {status.last_run[1].replace("_", " ")}
                      </button>
                    </dd>
                  </>
                )}
              </dl>
              <div className="row">
                <button type="button" className="secondary small" onClick={() => act(() => api.runNow())}>Run now</button>
                <button type="button" className="secondary small" onClick={() => act(() => api.setPaused(e.name, !v.paused))}>
                  {v.paused ? "Resume" : "Pause"}
                </button>
                <button type="button" className="secondary small" onClick={() => setEditing({ original: e.name, view: v })}>Edit</button>
                {confirm === e.name ? (
                  <>
                    <button type="button" className="danger small" onClick={() => act(async () => { await api.deleteEmployee(e.name); setConfirm(null); })}>
                      Delete {e.name}
                    </button>
                    <button type="button" className="secondary small" onClick={() => setConfirm(null)}>Keep</button>
                  </>
                ) : (
                  <button type="button" className="secondary small" onClick={() => setConfirm(e.name)}>Delete…</button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
