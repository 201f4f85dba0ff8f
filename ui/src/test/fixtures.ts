// Data shaped exactly like the backend's (the types come from Rust), for the UI tests.
import type { AgentInfo } from "../bindings/AgentInfo";
import type { Board } from "../bindings/Board";
import type { Employee } from "../bindings/Employee";
import type { EmployeeView } from "../bindings/EmployeeView";
import type { RunSummary } from "../bindings/RunSummary";
import type { RunView } from "../bindings/RunView";
import type { SourceInfo } from "../bindings/SourceInfo";
import sources from "../bindings/sources.json";
import { settingOf } from "../sourceSettings";

/** The sources as the backend's registry describes them (`list_sources`), exported with the
 * bindings. */
export const SOURCES: SourceInfo[] = sources as SourceInfo[];

export function employee(name: string, patch: Partial<Employee> & { [key: string]: unknown } = {}): Employee {
  return {
    name,
    enabled: true,
    source: "local",
    workspace: `/home/me/Delegate/${name.toLowerCase()}`,
    agent: "claude",
    command: "claude",
    model: "sonnet",
    allowed_tools: ["Read", "Write", "Edit", "Glob", "Grep", "Skill"],
    disallowed_tools: [],
    permission_mode: null,
    max_turns: 40,
    append_system_prompt: null,
    timeout_secs: 600,
    max_attempts: 3,
    retry_backoff_secs: 60,
    max_task_usd: 1,
    daily_usd: null,
    poll_secs: 30,
    live_progress: false,
    hold_until_due: false,
    allow_api_key: false,
    sandbox: "strict",
    sandbox_network: "open",
    sandbox_fallback: "refuse",
    deliver_drafts: "inline",
    ...patch,
  };
}

/** An agent as `list_agents` / `check_agent` describe it. */
export function agentInfo(kind: AgentInfo["kind"], patch: Partial<AgentInfo> = {}): AgentInfo {
  const names = { claude: "Claude Code", codex: "Codex CLI", gemini: "Gemini CLI", command: "Command" } as const;
  return {
    kind,
    name: names[kind],
    command: kind === "command" ? "" : kind,
    found: true,
    path: `/usr/bin/${kind}`,
    version: kind === "claude" ? "2.1.197 (Claude Code)" : "1.0.0",
    login: { state: "ready", how: "claude.ai" },
    install_hint: `install the ${names[kind]}`,
    uses_tools: kind !== "command",
    tools:
      kind === "command"
        ? []
        : kind === "claude"
          ? [
              { name: "Read", what: "read files" },
              { name: "Glob", what: "find files" },
              { name: "Write", what: "create files" },
              { name: "Edit", what: "change files" },
              { name: "WebSearch", what: "search the web" },
              { name: "Bash", what: "run any command" },
            ]
          : [
              { name: "Write", what: "create and change files in the workspace" },
              { name: "Bash", what: "run commands in the workspace" },
            ],
    uses_caps: kind === "claude",
    uses_args: kind === "command",
    ...patch,
  };
}

export function view(e: Employee, spent = 0, paused = false): EmployeeView {
  return {
    employee: e,
    source_words:
      e.source === "todoist" ? `Todoist project “${settingOf(e, "project")}”` : e.source === "github" ? `GitHub repository ${settingOf(e, "repo")}` : "the local queue",
    permissions: "can read files, write files in its workspace; cannot run commands (Read, Write)",
    sandbox:
      e.sandbox === "off"
        ? "no OS sandbox: the agent can read and change anything you can"
        : "OS sandbox (strict): writes only in its workspace; cannot read your home folder (~/.ssh, ~/.aws, other projects)",
    paused,
    spent_today: spent,
  };
}

/** An employee's sandbox as `describe_sandbox` shows it. */
export function sandboxView(summary: string) {
  return {
    modes: [
      { value: "strict", label: "Strict (recommended) — its workspace only" },
      { value: "workspace", label: "Workspace — writes its workspace, reads your files" },
      { value: "off", label: "Off — no OS sandbox" },
    ],
    networks: [
      { value: "open", label: "Any network connection" },
      { value: "https", label: "HTTPS only (port 443)" },
      { value: "none", label: "No network" },
    ],
    summary,
    machine: "Landlock ABI 7: agents run in an OS sandbox (files and network)",
    notes: [],
  };
}

export function board(patch: Partial<Board> = {}): Board {
  return { employees: {}, paused_all: false, latest_draft_run: null, ...patch };
}

export function run(id: number, patch: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    employee: "Writer",
    source: "local",
    task_id: String(id),
    task_title: `Task ${id}`,
    attempt: 1,
    max_attempts: 3,
    status: "succeeded",
    started_at: "2026-11-25T10:00:00Z",
    ended_at: "2026-11-25T10:01:05Z",
    cost_usd: 0.04,
    summary: "Wrote the draft.",
    error: null,
    review: null,
    ...patch,
  };
}

export function runView(id: number, content: string, patch: Partial<RunSummary> = {}): RunView {
  return {
    run: {
      ...run(id, patch),
      task_description: "Keep it short.",
      task_url: null,
      machine: "laptop",
      sandbox: "strict · Landlock ABI 7",
      command: ["claude", "-p"],
      exit_code: 0,
      stderr_tail: null,
      tokens_in: 1200,
      tokens_out: 300,
      turns: 4,
      session_id: "s1",
      permission_denials: [],
      progress: [{ at: "2026-11-25T10:00:10Z", line: "📖 Reading skill: .claude/skills/linkedin-post/SKILL.md" }],
      drafts: [{ path: "drafts/post.md", inside_workspace: true }],
      input: null,
      questions: [],
      resumed_session: null,
    },
    drafts: [{ path: "drafts/post.md", inside_workspace: true, content, problem: null }],
    open_task_words: "Open in Todoist",
    thread: [],
    task_cost_usd: 0.04,
  };
}
