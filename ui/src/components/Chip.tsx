import type { RunStatus } from "../bindings/RunStatus";

const LABELS: Record<RunStatus, string> = {
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "timed out",
  cancelled: "cancelled",
  interrupted: "interrupted",
  over_budget: "over budget",
  blocked: "needs attention",
  lost_claim: "left to another machine",
  needs_input: "needs your answer",
  nothing_to_do: "nothing to do",
};

export function StatusChip({ status }: { status: RunStatus }) {
  return <span className={`chip ${status}`}>{LABELS[status]}</span>;
}

export function Chip({ kind, children }: { kind: string; children: React.ReactNode }) {
  return <span className={`chip ${kind}`}>{children}</span>;
}
