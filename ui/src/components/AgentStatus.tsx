// One agent as this machine has it: installed (with its version) and logged in, or what to do.
// The words come from the backend (the agent's own file); this only lays them out.
import type { AgentInfo } from "../bindings/AgentInfo";

/** A short label for pickers: "Claude Code — 2.1.197, logged in". */
export function agentLabel(a: AgentInfo): string {
  if (!a.found) return `${a.name} — not installed`;
  const version = a.version ? `${a.version.replace(/\s*\(.*\)$/, "")}, ` : "";
  switch (a.login?.state) {
    case "ready":
      return `${a.name} — ${version}logged in`;
    case "not_ready":
      return `${a.name} — ${version}not logged in`;
    default:
      return `${a.name} — ${version.replace(/, $/, "") || "installed"}`;
  }
}

export function AgentStatus({ agent }: { agent: AgentInfo }) {
  if (!agent.found) return <p className="error-note" role="status">{agent.install_hint}</p>;
  const found = `Found ${agent.name}${agent.version ? ` ${agent.version.replace(/\s*\(.*\)$/, "")}` : ""}`;
  switch (agent.login?.state) {
    case "ready":
      return <p className="ok-note" role="status">{found}, logged in ({agent.login.how}).</p>;
    case "not_ready":
      return (
        <p className="error-note" role="status">
          {found}. {agent.login.reason.replace(/^./, (c) => c.toUpperCase())}. To fix: {agent.login.fix}.
        </p>
      );
    default:
      return <p className="ok-note" role="status">{found}.{agent.login ? ` ${agent.login.note}.` : ""}</p>;
  }
}
