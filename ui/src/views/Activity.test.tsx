import { emit } from "@tauri-apps/api/event";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { RunQuery } from "../bindings/RunQuery";
import { mockBackend } from "../test/backend";
import { run } from "../test/fixtures";
import { Activity, mergeRuns } from "./Activity";

describe("Activity", () => {
  it("pages by id, filters, and opens a run", async () => {
    const queries: RunQuery[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "list_employees") return [];
      if (cmd === "list_runs") {
        const q = (args as { query: RunQuery }).query;
        queries.push(q);
        if (q.before_id) return [run(1)];
        if (q.status === "failed") return [run(7, { status: "failed", error: "boom" })];
        return Array.from({ length: 50 }, (_, i) => run(100 - i));
      }
    });
    const onOpen = vi.fn();
    render(<Activity onOpen={onOpen} />);
    expect(await screen.findAllByTestId("run-row")).toHaveLength(50);
    await userEvent.click(screen.getByRole("button", { name: "Load older runs" }));
    await waitFor(() => expect(screen.getAllByTestId("run-row")).toHaveLength(51));
    expect(queries.at(-1)).toMatchObject({ before_id: 51, limit: 50 });

    await userEvent.selectOptions(screen.getByLabelText("Status"), "failed");
    await waitFor(() => expect(screen.getAllByTestId("run-row")).toHaveLength(1));
    expect(queries.at(-1)).toMatchObject({ status: "failed", before_id: null });
    await userEvent.click(screen.getByText("Task 7"));
    expect(onOpen).toHaveBeenCalledWith(7);
  });

  it("searches with a pause and says when nothing matches", async () => {
    const texts: (string | null)[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "list_employees") return [];
      if (cmd === "list_runs") {
        texts.push((args as { query: RunQuery }).query.text);
        return [];
      }
    });
    render(<Activity onOpen={() => {}} />);
    expect(await screen.findByText(/No runs yet/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Search tasks"), "linkedin");
    await waitFor(() => expect(texts.at(-1)).toBe("linkedin"));
    expect(texts).not.toContain("l");
    expect(await screen.findByText("No runs match these filters.")).toBeInTheDocument();
  });

  it("updates rows live", async () => {
    let runs = [run(1, { status: "running", ended_at: null, cost_usd: null })];
    mockBackend((cmd) => {
      if (cmd === "list_employees") return [];
      if (cmd === "list_runs") return runs;
    });
    render(<Activity onOpen={() => {}} />);
    expect(await screen.findByText("running…")).toBeInTheDocument();
    runs = [run(2, { status: "running", ended_at: null }), run(1)];
    await emit("delegate://event", { type: "run_started", run_id: 2, employee: "Writer", task_id: "2", task_title: "Task 2", attempt: 1, max_attempts: 3 });
    await waitFor(() => expect(screen.getAllByTestId("run-row")).toHaveLength(2));
    expect(screen.getAllByTestId("run-row")[1]).toHaveTextContent("succeeded");
  });

  it("merges pages newest first without duplicates", () => {
    const merged = mergeRuns([run(3), run(2)], [run(4), run(3, { status: "failed" })]);
    expect(merged.map((r) => [r.id, r.status])).toEqual([[4, "succeeded"], [3, "failed"], [2, "succeeded"]]);
  });
});
