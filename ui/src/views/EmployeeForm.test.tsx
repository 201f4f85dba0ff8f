import { mockBackend } from "../test/backend";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { agentInfo, sandboxView, employee } from "../test/fixtures";
import { EmployeeForm } from "./EmployeeForm";

describe("EmployeeForm", () => {
  it("shows the engine's own checks next to their fields, and does not save until they pass", async () => {
    const saved = vi.fn();
    mockBackend((cmd, args) => {
      if (cmd === "list_templates") return [];
      if (cmd === "check_employee") {
        const e = (args as { employee: { timeout_secs: number } }).employee;
        return e.timeout_secs > 86400 ? [{ field: "timeout_secs", message: "must be between 1 and 86400 seconds" }] : [];
      }
      if (cmd === "save_employee") saved(args);
    });
    render(<EmployeeForm original="Writer" initial={employee("Writer", { timeout_secs: 999999 })} onCancel={() => {}} onSaved={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Must be between 1 and 86400 seconds.")).toBeInTheDocument();
    expect(saved).not.toHaveBeenCalled();
    await userEvent.clear(screen.getByLabelText(/Timeout/));
    await userEvent.type(screen.getByLabelText(/Timeout/), "600");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(saved).toHaveBeenCalled());
  });

  it("makes the source's fields from the registry, lists the targets and drops another source's settings", async () => {
    const saved = vi.fn();
    mockBackend((cmd, args) => {
      if (cmd === "list_templates") return [];
      if (cmd === "list_targets") {
        const source = (args as { source: string }).source;
        return source === "linear" ? [{ value: "ENG", name: "Engineering (ENG)" }, { value: "OPS", name: "Operations (OPS)" }] : [{ value: "octo-org/docs", name: "octo-org/docs" }];
      }
      if (cmd === "save_employee") saved(args);
    });
    render(<EmployeeForm original="Writer" initial={employee("Writer", { source: "github", repo: "octo-org/docs", github_label: "delegate" })} onCancel={() => {}} onSaved={() => {}} />);
    // GitHub's fields, as its settings describe them.
    await waitFor(() => expect(screen.getByLabelText(/^GitHub repository/)).toHaveValue("octo-org/docs"));
    expect(screen.getByLabelText(/^Only issues with this label/)).toHaveValue("delegate");
    await userEvent.click(screen.getByLabelText(/a Linear team/));
    const team = await screen.findByRole("option", { name: "Engineering (ENG)" });
    expect(screen.queryByLabelText(/^GitHub repository/)).toBeNull();
    await userEvent.selectOptions(screen.getByLabelText(/^Linear team/), "ENG");
    expect((team as HTMLOptionElement).selected).toBe(true);
    await userEvent.type(screen.getByLabelText(/^Drafts wait for review in/), "Review");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(saved).toHaveBeenCalled());
    const sent = (saved.mock.calls[0]?.[0] as { employee: Record<string, unknown> }).employee;
    expect(sent).toMatchObject({ source: "linear", team: "ENG", linear_review_state: "Review" });
    expect(sent).not.toHaveProperty("repo");
    expect(sent).not.toHaveProperty("github_label");
  });

  it("shows the scope in the backend's words and offers each agent's own options", async () => {
    const asked: unknown[] = [];
    const sandboxAsked: string[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "list_templates") return [];
      if (cmd === "list_agents") return [agentInfo("claude"), agentInfo("codex", { login: { state: "not_ready", reason: "the Codex CLI is not logged in on this machine", fix: "run `codex login` in a terminal" } }), agentInfo("command")];
      if (cmd === "describe_sandbox") {
        const e = (args as { employee: { sandbox: string } }).employee;
        sandboxAsked.push(e.sandbox);
        return sandboxView(e.sandbox === "off" ? "no OS sandbox: the agent can read and change anything you can" : "OS sandbox (strict): writes only in its workspace; cannot read your home folder (~/.ssh, ~/.aws, other projects)");
      }
      if (cmd === "describe_scope") {
        const e = (args as { employee: { agent: string; allowed_tools: string[] } }).employee;
        asked.push(e);
        return e.agent === "codex" ? "can read files, and write files and run commands in its workspace (Codex sandbox: workspace-write, no network)" : `can read files in its workspace; cannot run commands (${e.allowed_tools.join(", ")})`;
      }
    });
    render(<EmployeeForm original="Writer" initial={employee("Writer")} onCancel={() => {}} onSaved={() => {}} />);
    expect(await screen.findByLabelText("What it may do")).toHaveTextContent("Can read files in its workspace; cannot run commands (Read, Write, Edit, Glob, Grep, Skill)");
    expect(screen.getByLabelText(/Cap per task/)).toBeInTheDocument();
    expect(screen.getByRole("checkbox", { name: /WebSearch/ })).toBeInTheDocument();
    // The OS sandbox: strict, in the backend's words; turning it off says so plainly.
    expect(await screen.findByLabelText("Sandbox", { selector: "p" })).toHaveTextContent("OS sandbox (strict): writes only in its workspace");
    expect(screen.getByText(/Landlock ABI 7/)).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText(/^Sandbox$/, { selector: "select" }), "off");
    await waitFor(() => expect(screen.getByLabelText("Sandbox", { selector: "p" })).toHaveTextContent("No OS sandbox: the agent can read and change anything you can"));
    expect(screen.queryByLabelText(/^Network$/)).toBeNull();
    expect(sandboxAsked).toContain("off");
    await userEvent.selectOptions(screen.getByLabelText(/^Sandbox$/, { selector: "select" }), "strict");
    expect(screen.getByLabelText(/^Network$/)).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText(/^Agent$/), "codex");
    expect(await screen.findByLabelText("What it may do")).toHaveTextContent("Codex sandbox: workspace-write");
    // The tools offered are the agent's own, as the backend lists them.
    expect(screen.getByRole("checkbox", { name: /Bash \(run commands in the workspace\)/ })).toBeInTheDocument();
    expect(screen.queryByRole("checkbox", { name: /WebSearch/ })).toBeNull();
    expect(screen.getByRole("status")).toHaveTextContent("To fix: run `codex login` in a terminal.");
    expect(screen.queryByLabelText(/Cap per task/)).toBeNull();
    await userEvent.selectOptions(screen.getByLabelText(/^Agent$/), "command");
    expect(screen.getByLabelText(/Arguments, one per line/)).toBeInTheDocument();
    expect(screen.queryByText("Allowed tools")).toBeNull();
    expect(asked.length).toBeGreaterThanOrEqual(3);
  });

  it("saves a new employee from a template and shows backend errors", async () => {
    const saved = vi.fn();
    let attempts = 0;
    mockBackend((cmd, args) => {
      if (cmd === "check_employee") return (args as { employee: { name: string } }).employee.name.trim() ? [] : [{ field: "name", message: "must not be empty" }];
      if (cmd === "list_templates") return [{ id: "linkedin-writer", title: "LinkedIn Writer", skill: "linkedin-post", summary: "Drafts posts" }];
      if (cmd === "suggest_workspace") return "/home/me/Delegate/x";
      if (cmd === "template_employee") {
        const a = args as { template: string | null; name: string; workspace: string };
        return employee(a.name, { workspace: a.workspace, allowed_tools: a.template ? ["Read", "Write", "Skill"] : ["Read"] });
      }
      if (cmd === "save_employee") {
        attempts++;
        if (attempts === 1) throw { code: "duplicate", message: "an employee named \"LinkedIn Writer\" already exists" };
        saved(args);
      }
    });
    const onSaved = vi.fn();
    render(<EmployeeForm original={null} initial={null} onCancel={() => {}} onSaved={onSaved} />);
    await screen.findByDisplayValue("/home/me/Delegate/x");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Must not be empty.")).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText(/Template/), "linkedin-writer");
    await waitFor(() => expect(screen.getByLabelText(/^Name/)).toHaveValue("LinkedIn Writer"));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("already exists");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(saved.mock.calls[0]?.[0]).toMatchObject({ template: "linkedin-writer", original: null, employee: { name: "LinkedIn Writer" } });
  });

  it("checks the agent CLI", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_templates") return [];
      if (cmd === "list_agents") return [agentInfo("claude")];
      if (cmd === "check_agent") return agentInfo("claude", { found: false, path: null, version: null, login: null, install_hint: "agent CLI \"claude\" not found on PATH; install Claude Code…" });
    });
    render(<EmployeeForm original="Writer" initial={employee("Writer")} onCancel={() => {}} onSaved={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Check" }));
    expect(await screen.findByText(/not found on PATH/)).toBeInTheDocument();
  });
});
