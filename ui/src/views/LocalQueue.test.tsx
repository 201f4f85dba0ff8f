import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { LocalTask } from "../bindings/LocalTask";
import { mockBackend } from "../test/backend";
import { employee, view } from "../test/fixtures";
import { LocalQueue } from "./LocalQueue";

function task(id: string, labels: string[], closed = false, state = "waiting"): LocalTask {
  return { employee: "Notes", closed, state, task: { id, title: `Task ${id}`, description: "", labels, priority: 1, due: null, recurring: false, order: Number(id), updated_at: null, url: null } };
}

describe("LocalQueue", () => {
  it("adds a task for a local employee", async () => {
    const tasks: LocalTask[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "list_employees") return [view(employee("Notes")), view(employee("Online", { source: "todoist", project: "P" }))];
      if (cmd === "list_local_tasks") return tasks;
      if (cmd === "add_local_task") {
        expect(args).toEqual({ employee: "Notes", title: "Weekly update", description: "Three bullets" });
        tasks.push(task("1", []));
        return "1";
      }
    });
    render(<LocalQueue />);
    const select = await screen.findByLabelText("Employee");
    expect(select.querySelectorAll("option")).toHaveLength(1);
    await userEvent.click(screen.getByRole("button", { name: "Add task" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Write what the task is.");
    await userEvent.type(screen.getByLabelText("Task"), "Weekly update");
    await userEvent.type(screen.getByLabelText("Details (optional)"), "Three bullets");
    await userEvent.click(screen.getByRole("button", { name: "Add task" }));
    await waitFor(() => expect(screen.getByText("Task 1")).toBeInTheDocument());
    expect(screen.getByText("Added for Notes. It starts at once.")).toBeInTheDocument();
  });

  it("explains when no employee uses the local queue", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_employees") return [];
      if (cmd === "list_local_tasks") return [];
    });
    render(<LocalQueue />);
    expect(await screen.findByText(/No employee takes tasks from the local queue/)).toBeInTheDocument();
  });

  it("shows each task's state in the engine's words", async () => {
    mockBackend((cmd) => {
      if (cmd === "list_employees") return [view(employee("Notes"))];
      if (cmd === "list_local_tasks") return [task("2", ["agent-done"], false, "ready for review"), task("1", [], true, "closed")];
    });
    render(<LocalQueue />);
    expect(await screen.findByText("ready for review")).toBeInTheDocument();
    expect(screen.getByText("closed")).toBeInTheDocument();
  });
});
