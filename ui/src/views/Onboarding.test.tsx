import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Employee } from "../bindings/Employee";
import { mockBackend } from "../test/backend";
import { agentInfo, employee } from "../test/fixtures";
import { Onboarding } from "./Onboarding";

const templates = [{ id: "linkedin-writer", title: "LinkedIn Writer", skill: "linkedin-post", summary: "Drafts posts in your voice" }];

describe("Onboarding", () => {
  it("gets to a first local-queue employee without an account", async () => {
    let saved: { employee: Employee; template: string | null } | null = null;
    mockBackend((cmd, args) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "list_agents")
        return [
          agentInfo("claude", { login: { state: "not_ready", reason: "Claude Code is not logged in on this machine", fix: "run `claude` in a terminal and log in with /login" } }),
          agentInfo("codex", { found: false, path: null, version: null, login: null, install_hint: "agent CLI \"codex\" not found on PATH; install the Codex CLI with `npm install -g @openai/codex`" }),
          agentInfo("gemini", { login: { state: "ready", how: "GEMINI_API_KEY" } }),
          agentInfo("command"),
        ];
      if (cmd === "suggest_workspace") return "/home/me/Delegate/linkedin-writer";
      if (cmd === "template_employee") {
        const a = args as { name: string; source: "local"; workspace: string; agent: "claude" | "gemini" | null };
        return employee(a.name, { source: a.source, workspace: a.workspace, agent: a.agent ?? "claude" });
      }
      if (cmd === "save_employee") saved = args as never;
    });
    const onDone = vi.fn();
    render(<Onboarding onDone={onDone} onSkip={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Try it without an account" }));
    // The agent that is ready on this machine is chosen; the others say what they lack.
    expect(await screen.findByLabelText("Gemini CLI — 1.0.0, logged in")).toBeChecked();
    expect(screen.getByRole("status")).toHaveTextContent("Found Gemini CLI 1.0.0, logged in (GEMINI_API_KEY).");
    expect(screen.queryByLabelText(/^Command/)).toBeNull();
    await userEvent.click(screen.getByLabelText("Claude Code — 2.1.197, not logged in"));
    expect(screen.getByRole("status")).toHaveTextContent("Found Claude Code 2.1.197. Claude Code is not logged in on this machine. To fix: run `claude` in a terminal and log in with /login.");
    await userEvent.click(screen.getByLabelText("Codex CLI — not installed"));
    expect(screen.getByRole("status")).toHaveTextContent("npm install -g @openai/codex");
    await userEvent.click(screen.getByLabelText("Gemini CLI — 1.0.0, logged in"));
    await userEvent.click(screen.getByRole("button", { name: "Continue" }));
    await screen.findByDisplayValue("/home/me/Delegate/linkedin-writer");
    await userEvent.click(screen.getByRole("button", { name: "Create employee" }));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(saved).toMatchObject({ template: "linkedin-writer", employee: { name: "LinkedIn Writer", source: "local", agent: "gemini", command: null } });
  });

  it("connects Todoist, tests the token and picks a project", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "set_token") return { source: "todoist", set: true, origin: "keychain", problem: null, summary: "A token is saved in the OS keychain." };
      if (cmd === "check_token") return "Ada <ada@example.com>";
      if (cmd === "list_targets") return [{ value: "LinkedIn Writer", name: "LinkedIn Writer" }];
      if (cmd === "list_agents") return [agentInfo("claude"), agentInfo("command")];
    });
    render(<Onboarding onDone={() => {}} onSkip={() => {}} />);
    await userEvent.click(await screen.findByRole("button", { name: "Connect Todoist" }));
    await userEvent.type(screen.getByLabelText("Todoist API token"), "tok");
    await userEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect(await screen.findByText("Connected as Ada <ada@example.com>.")).toBeInTheDocument();
    const next = screen.getByRole("button", { name: "Continue" });
    expect(next).toBeDisabled();
    await userEvent.selectOptions(screen.getByLabelText("Todoist project"), "LinkedIn Writer");
    await userEvent.click(next);
    expect(await screen.findByText("Found Claude Code 2.1.197, logged in (claude.ai).")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Continue" })).toBeEnabled();
  });

  it("connects GitHub, picks a repository and a label, and saves them on the employee", async () => {
    let saved: { employee: Employee } | null = null;
    const asked: unknown[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "set_token") {
        asked.push(args);
        return { source: "github", set: true, origin: "keychain", problem: null, summary: "A token is saved in the OS keychain." };
      }
      if (cmd === "check_token") return "octocat (The Octocat)";
      if (cmd === "list_targets") {
        asked.push(args);
        return [{ value: "octo-org/docs", name: "octo-org/docs" }, { value: "octo-org/site", name: "octo-org/site" }];
      }
      if (cmd === "list_agents") return [agentInfo("claude"), agentInfo("command")];
      if (cmd === "suggest_workspace") return "/home/me/Delegate/linkedin-writer";
      if (cmd === "template_employee") {
        const a = args as { name: string; source: "github"; workspace: string };
        return employee(a.name, { source: a.source, workspace: a.workspace });
      }
      if (cmd === "save_employee") saved = args as never;
    });
    const onDone = vi.fn();
    render(<Onboarding onDone={onDone} onSkip={() => {}} />);
    await userEvent.click(await screen.findByRole("button", { name: "Connect GitHub" }));
    expect(screen.getByText(/Issues read and write/)).toBeInTheDocument();
    // Where to get a token is a hint under the field; what to type is shown as code.
    expect(screen.getByText("gh auth login").tagName).toBe("CODE");
    await userEvent.type(screen.getByLabelText("GitHub personal access token"), "ghp_abc");
    await userEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect(await screen.findByText("Connected as octocat (The Octocat).")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Pick the repository" })).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("GitHub repository"), "octo-org/docs");
    await userEvent.type(screen.getByLabelText(/Only issues with this label/), "delegate");
    await userEvent.click(screen.getByRole("button", { name: "Continue" }));
    await userEvent.click(await screen.findByRole("button", { name: "Continue" }));
    await screen.findByDisplayValue("/home/me/Delegate/linkedin-writer");
    await userEvent.click(screen.getByRole("button", { name: "Create employee" }));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(asked).toEqual([{ token: "ghp_abc", source: "github" }, { source: "github" }]);
    expect(saved).toMatchObject({ employee: { source: "github", repo: "octo-org/docs", github_label: "delegate" } });
    expect((saved as unknown as { employee: object }).employee).not.toHaveProperty("project");
  });

  it("offers a token the source already has (the GitHub CLI's login) before asking for one", async () => {
    const asked: string[] = [];
    mockBackend((cmd) => {
      asked.push(cmd);
      if (cmd === "list_templates") return templates;
      if (cmd === "token_status") return { source: "github", set: true, origin: "tool", problem: null, summary: "Using the GitHub CLI's login (gh auth token)." };
      if (cmd === "check_token") return "octocat (The Octocat)";
      if (cmd === "list_targets") return [{ value: "octo-org/docs", name: "octo-org/docs" }];
    });
    render(<Onboarding onDone={() => {}} onSkip={() => {}} />);
    expect(screen.queryByText(/^Step/)).toBeNull();
    await userEvent.click(await screen.findByRole("button", { name: "Connect GitHub" }));
    expect(screen.getByText("Step 1 of 4")).toBeInTheDocument();
    expect(await screen.findByText("Using the GitHub CLI's login (gh auth token).")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Continue with it" }));
    expect(await screen.findByText("Connected as octocat (The Octocat).")).toBeInTheDocument();
    expect(screen.getByText("Step 2 of 4")).toBeInTheDocument();
    expect(asked).not.toContain("set_token");
  });

  it("says why a token was refused", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "set_token") return { source: "todoist", set: true, origin: "keychain", problem: null, summary: "A token is saved in the OS keychain." };
      if (cmd === "check_token") throw { code: "token_rejected", message: "Todoist rejected the API token (HTTP 401); set a new one" };
    });
    render(<Onboarding onDone={() => {}} onSkip={() => {}} />);
    await userEvent.click(await screen.findByRole("button", { name: "Connect Todoist" }));
    await userEvent.type(screen.getByLabelText("Todoist API token"), "bad");
    await userEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("rejected the API token");
  });
});
