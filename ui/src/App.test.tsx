import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App, screenFor, summary } from "./App";
import { mockBackend } from "./test/backend";
import { board, employee, view } from "./test/fixtures";

describe("App", () => {
  it("opens the screen a notification click asks for", () => {
    expect(screenFor({ view: "run", id: 7 })).toEqual({ name: "run", id: 7 });
    expect(screenFor({ view: "settings" })).toEqual({ name: "settings" });
    expect(screenFor({ view: "activity" })).toEqual({ name: "activity" });
    expect(screenFor({ view: "employees" })).toEqual({ name: "employees" });
  });

  it("starts on the screen the shell opened the window on", async () => {
    window.history.replaceState(null, "", "/?view=settings");
    mockBackend((cmd) => {
      if (cmd === "get_status") return board({ employees: { Writer: { name: "Writer", activity: { state: "idle" }, awaiting_review: 0, awaiting_answer: 0, last_run: null, unsandboxed: false } } });
      if (cmd === "get_settings") return { notifications: { draft_ready: true, question: true, gave_up: true, budget_reached: true, token_rejected: true, needs_attention: true }, global_daily_usd: null, autostart: false, theme: "system" };
      if (cmd === "token_status") return { set: false, origin: null, problem: null, summary: "No token saved." };
    });
    try {
      render(<App />);
      expect(await screen.findByRole("heading", { name: "Settings" })).toBeInTheDocument();
    } finally {
      window.history.replaceState(null, "", "/");
    }
  });

  it("starts onboarding when nothing is set up", async () => {
    mockBackend((cmd) => {
      if (cmd === "get_status") return board();
      if (cmd === "list_templates") return [];
    });
    render(<App />);
    expect(await screen.findByText("Welcome to Delegate")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Skip for now" }));
    expect(await screen.findByRole("heading", { name: "Employees" })).toBeInTheDocument();
  });

  it("moves between screens from the sidebar", async () => {
    mockBackend((cmd) => {
      if (cmd === "get_status") return board({ employees: { Writer: { name: "Writer", activity: { state: "idle" }, awaiting_review: 1, awaiting_answer: 0, last_run: null, unsandboxed: false } } });
      if (cmd === "list_employees") return [view(employee("Writer"))];
      if (cmd === "list_runs") return [];
      if (cmd === "list_local_tasks") return [];
    });
    render(<App />);
    // The element is there at once; its text follows the backend's answer.
    await waitFor(() => expect(screen.getByTestId("summary")).toHaveTextContent("1 ready for review"));
    await userEvent.click(screen.getByRole("button", { name: "Activity" }));
    expect(await screen.findByRole("heading", { name: "Activity" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Local queue" }));
    expect(await screen.findByRole("heading", { name: "Local queue" })).toBeInTheDocument();
  });

  it("summarises the board", () => {
    expect(summary(board())).toBe("No employees yet");
    expect(summary(board({ paused_all: true, employees: { A: { name: "A", activity: { state: "idle" }, awaiting_review: 0, awaiting_answer: 0, last_run: null, unsandboxed: false } } }))).toBe("Paused");
    expect(summary(board({ employees: { A: { name: "A", activity: { state: "idle" }, awaiting_review: 2, awaiting_answer: 1, last_run: null, unsandboxed: false } } }))).toBe(
      "1 question for you · 2 ready for review",
    );
  });
});
