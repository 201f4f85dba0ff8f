// The window: a sidebar of screens, the live summary, and first-run onboarding when there is
// nothing set up yet.
import { useCallback, useEffect, useState } from "react";
import type { Board } from "./bindings/Board";
import type { Opens } from "./bindings/Opens";
import { api, errorMessage, onOpen, onStatus, stop } from "./ipc";
import { Activity } from "./views/Activity";
import { Employees } from "./views/Employees";
import { LocalQueue } from "./views/LocalQueue";
import { Onboarding } from "./views/Onboarding";
import { RunDetail } from "./views/RunDetail";
import { Settings } from "./views/Settings";

export type Screen =
  | { name: "employees" }
  | { name: "activity" }
  | { name: "run"; id: number }
  | { name: "queue" }
  | { name: "settings" }
  | { name: "onboarding" };

export function summary(board: Board): string {
  const all = Object.values(board.employees).filter((e) => e !== undefined);
  if (all.length === 0) return "No employees yet";
  const working = all.filter((e) => e.activity.state === "working").length;
  const blocked = all.filter((e) => e.activity.state === "blocked").length;
  const review = all.reduce((n, e) => n + e.awaiting_review, 0);
  const answer = all.reduce((n, e) => n + e.awaiting_answer, 0);
  const parts: string[] = [];
  if (board.paused_all) parts.push("Paused");
  if (working) parts.push(`${working} working`);
  if (answer) parts.push(`${answer} question${answer === 1 ? "" : "s"} for you`);
  if (review) parts.push(`${review} ready for review`);
  if (blocked) parts.push(`${blocked} need${blocked === 1 ? "s" : ""} attention`);
  return parts.join(" · ") || "All quiet";
}

/** The screen the shell asked for (a notification click, the tray). */
export function screenFor(o: Opens): Screen {
  switch (o.view) {
    case "run":
      return { name: "run", id: o.id };
    case "activity":
      return { name: "activity" };
    case "settings":
      return { name: "settings" };
    default:
      return { name: "employees" };
  }
}

function initialScreen(): Screen {
  const q = new URLSearchParams(window.location.search);
  const view = q.get("view");
  if (view === "run" && q.get("id")) return { name: "run", id: Number(q.get("id")) };
  if (view === "activity" || view === "settings") return { name: view };
  return { name: "employees" };
}

const NAV: { name: Screen["name"]; label: string }[] = [
  { name: "employees", label: "Employees" },
  { name: "activity", label: "Activity" },
  { name: "queue", label: "Local queue" },
  { name: "settings", label: "Settings" },
];

export function App() {
  const [screen, setScreen] = useState<Screen>(initialScreen);
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refreshBoard = useCallback(async () => {
    try {
      const b = await api.status();
      setBoard(b);
      return b;
    } catch (e) {
      setError(errorMessage(e));
      return null;
    }
  }, []);

  useEffect(() => {
    const subs = [onStatus(setBoard), onOpen((o) => setScreen(screenFor(o)))];
    refreshBoard().then((b) => {
      if (b && Object.keys(b.employees).length === 0 && initialScreen().name !== "run") {
        setScreen({ name: "onboarding" });
      }
      // The frame after next is on screen with the board drawn: opening the window is done.
      requestAnimationFrame(() => requestAnimationFrame(() => void api.painted().catch(() => undefined)));
    });
    return () => subs.forEach((s) => stop(s)());
  }, [refreshBoard]);

  const go = (s: Screen) => setScreen(s);
  if (screen.name === "onboarding") {
    return <Onboarding onDone={() => { refreshBoard(); go({ name: "employees" }); }} onSkip={() => go({ name: "employees" })} />;
  }
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Screens">
        <div className="brand">
          <img src="/icon.png" alt="" width="26" height="26" />
          <span>Delegate</span>
        </div>
        {NAV.map((n) => (
          <button
            key={n.name}
            type="button"
            className={screen.name === n.name || (n.name === "activity" && screen.name === "run") ? "nav active" : "nav"}
            aria-current={screen.name === n.name ? "page" : undefined}
            onClick={() => go({ name: n.name } as Screen)}
          >
            {n.label}
          </button>
        ))}
        <div className="sidebar-foot">
          <p className="summary" data-testid="summary">{board ? summary(board) : "Loading…"}</p>
          <button type="button" className="secondary small" onClick={() => api.runNow()}>Run all now</button>
          {board && (
            <button type="button" className="secondary small" onClick={() => api.setPaused(null, !board.paused_all)}>
              {board.paused_all ? "Resume all" : "Pause all"}
            </button>
          )}
        </div>
      </nav>
      <main className="content">
        {error && <p className="error-note" role="alert">{error}</p>}
        {screen.name === "employees" && <Employees board={board} onOpenRun={(id) => go({ name: "run", id })} onSetup={() => go({ name: "onboarding" })} />}
        {screen.name === "activity" && <Activity onOpen={(id) => go({ name: "run", id })} />}
        {screen.name === "run" && <RunDetail key={screen.id} id={screen.id} onBack={() => go({ name: "activity" })} onOpen={(id) => go({ name: "run", id })} />}
        {screen.name === "queue" && <LocalQueue />}
        {screen.name === "settings" && <Settings />}
      </main>
    </div>
  );
}
