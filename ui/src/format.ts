// Small display helpers shared by the views.
import type { RunSummary } from "./bindings/RunSummary";

export function money(v: number | null | undefined): string {
  return v == null ? "—" : `$${v.toFixed(2)}`;
}

export function when(iso: string): string {
  const d = new Date(iso);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString([], {
    month: "short",
    day: "numeric",
    year: sameYear ? undefined : "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function duration(run: Pick<RunSummary, "started_at" | "ended_at">): string {
  if (!run.ended_at) return "running…";
  const s = Math.max(0, Math.round((Date.parse(run.ended_at) - Date.parse(run.started_at)) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
