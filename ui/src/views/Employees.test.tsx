import { mockBackend } from "../test/backend";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { board, employee, view } from "../test/fixtures";
import { describe as describeState, Employees } from "./Employees";

describe("Employees", () => {
  it("shows live state, spend against the budget and permissions", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_employees") return [view(employee("Writer", { daily_usd: 10 }), 2.5), view(employee("Reviewer", { source: "todoist", project: "Code", sandbox: "off" }))];
    });
    const b = board({
      employees: {
        Writer: { name: "Writer", activity: { state: "working", run_id: 3, task_title: "Post about agents", attempt: 1 }, awaiting_review: 0, awaiting_answer: 0, last_run: [2, "succeeded"], unsandboxed: false },
        Reviewer: { name: "Reviewer", activity: { state: "blocked", kind: { problem: "agent_missing" }, message: "agent CLI \"claude\" not found" }, awaiting_review: 0, awaiting_answer: 0, last_run: null, unsandboxed: false },
      },
    });
    const onOpenRun = vi.fn();
    render(<Employees board={b} onOpenRun={onOpenRun} onSetup={() => {}} />);
    const writer = await screen.findByTestId("employee-Writer");
    expect(writer).toHaveTextContent("On “Post about agents” (attempt 1)");
    expect(writer).toHaveTextContent("$2.50 of $10.00");
    expect(writer).toHaveTextContent("cannot run commands");
    expect(screen.getByTestId("employee-Reviewer")).toHaveTextContent("needs attention");
    expect(screen.getByTestId("employee-Reviewer")).toHaveTextContent("Todoist project “Code”");
    // The OS sandbox is on the card; an employee without one is marked.
    expect(writer).toHaveTextContent("OS sandbox (strict): writes only in its workspace");
    expect(writer).not.toHaveTextContent("no sandbox");
    expect(screen.getByTestId("employee-Reviewer")).toHaveTextContent("no sandbox");
    expect(screen.getByTestId("employee-Reviewer")).toHaveTextContent("no OS sandbox: the agent can read and change anything you can");
    await userEvent.click(screen.getByRole("button", { name: "#2 succeeded" }));
    expect(onOpenRun).toHaveBeenCalledWith(2);
  });

  it("asks before deleting", async () => {
    const calls: string[] = [];
    mockBackend((cmd, args) => {
      calls.push(cmd);
      if (cmd === "list_employees") return [view(employee("Writer"))];
      if (cmd === "delete_employee") expect(args).toEqual({ name: "Writer" });
    });
    render(<Employees board={board()} onOpenRun={() => {}} onSetup={() => {}} />);
    await userEvent.click(await screen.findByRole("button", { name: "Delete…" }));
    expect(calls).not.toContain("delete_employee");
    await userEvent.click(screen.getByRole("button", { name: "Delete Writer" }));
    await waitFor(() => expect(calls).toContain("delete_employee"));
  });

  it("has an empty state that leads to setup, and shows errors", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_employees") return [];
    });
    const onSetup = vi.fn();
    render(<Employees board={board()} onOpenRun={() => {}} onSetup={onSetup} />);
    await userEvent.click(await screen.findByRole("button", { name: "Set up the first one" }));
    expect(onSetup).toHaveBeenCalled();
  });

  it("reports a failing backend with its message", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_employees") throw { code: "config", message: "config.toml, line 3: bad value" };
    });
    render(<Employees board={board()} onOpenRun={() => {}} onSetup={() => {}} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("config.toml, line 3: bad value");
  });

  it("describes each state in words", () => {
    expect(describeState(undefined, false)[0]).toBe("idle");
    expect(describeState({ name: "A", activity: { state: "idle" }, awaiting_review: 2, awaiting_answer: 0, last_run: null, unsandboxed: false }, false)[2]).toBe("2 drafts ready for you");
    expect(describeState({ name: "A", activity: { state: "idle" }, awaiting_review: 0, awaiting_answer: 0, last_run: null, unsandboxed: false }, true)[0]).toBe("paused");
  });
});
