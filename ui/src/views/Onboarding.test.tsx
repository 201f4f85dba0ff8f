import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Employee } from "../bindings/Employee";
import { mockBackend } from "../test/backend";
import { employee } from "../test/fixtures";
import { Onboarding } from "./Onboarding";

const templates = [{ id: "linkedin-writer", title: "LinkedIn Writer", skill: "linkedin-post", summary: "Drafts posts in your voice" }];

describe("Onboarding", () => {
  it("gets to a first local-queue employee without an account", async () => {
    let saved: { employee: Employee; template: string | null } | null = null;
    mockBackend((cmd, args) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "check_agent") return { found: false, path: null, version: null, hint: "agent CLI \"claude\" not found on PATH. Install Claude Code with npm" };
      if (cmd === "suggest_workspace") return "/home/me/Delegate/linkedin-writer";
      if (cmd === "template_employee") {
        const a = args as { name: string; source: "local"; workspace: string };
        return employee(a.name, { source: a.source, workspace: a.workspace });
      }
      if (cmd === "save_employee") saved = args as never;
    });
    const onDone = vi.fn();
    render(<Onboarding onDone={onDone} onSkip={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Try it without an account" }));
    expect(await screen.findByText(/not found on PATH/)).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText("Agent command"));
    await userEvent.type(screen.getByLabelText("Agent command"), "/opt/claude");
    await userEvent.click(screen.getByRole("button", { name: "Continue anyway" }));
    await screen.findByDisplayValue("/home/me/Delegate/linkedin-writer");
    await userEvent.click(screen.getByRole("button", { name: "Create employee" }));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(saved).toMatchObject({ template: "linkedin-writer", employee: { name: "LinkedIn Writer", source: "local", command: "/opt/claude" } });
  });

  it("connects Todoist, tests the token and picks a project", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "set_token") return { set: true, origin: "keychain", problem: null };
      if (cmd === "test_token") return { full_name: "Ada", email: "ada@example.com" };
      if (cmd === "list_projects") return [{ id: "p1", name: "LinkedIn Writer" }];
      if (cmd === "check_agent") return { found: true, path: "/usr/bin/claude", version: "2.1.197", hint: null };
    });
    render(<Onboarding onDone={() => {}} onSkip={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Connect Todoist" }));
    await userEvent.type(screen.getByLabelText("Todoist API token"), "tok");
    await userEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect(await screen.findByText("Connected as Ada <ada@example.com>.")).toBeInTheDocument();
    const next = screen.getByRole("button", { name: "Continue" });
    expect(next).toBeDisabled();
    await userEvent.selectOptions(screen.getByLabelText("Todoist project"), "LinkedIn Writer");
    await userEvent.click(next);
    expect(await screen.findByText("Agent found: 2.1.197")).toBeInTheDocument();
  });

  it("says why a token was refused", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_templates") return templates;
      if (cmd === "set_token") return { set: true, origin: "keychain", problem: null };
      if (cmd === "test_token") throw { code: "token_rejected", message: "Todoist rejected the API token (HTTP 401); set a new one" };
    });
    render(<Onboarding onDone={() => {}} onSkip={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Connect Todoist" }));
    await userEvent.type(screen.getByLabelText("Todoist API token"), "bad");
    await userEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("rejected the API token");
  });
});
