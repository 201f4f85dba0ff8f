import { emit } from "@tauri-apps/api/event";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { mockBackend } from "../test/backend";
import { runView } from "../test/fixtures";
import { RunDetail } from "./RunDetail";

describe("RunDetail", () => {
  it("shows the run, renders the draft and approves", async () => {
    const calls: [string, unknown][] = [];
    let approved = false;
    mockBackend((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "get_run") {
        const v = runView(5, "# LinkedIn post\n\nYour to-do list can **hire**.");
        if (approved) v.run.review = "approved";
        return v;
      }
      if (cmd === "approve_run") approved = true;
    });
    render(<RunDetail id={5} onBack={() => {}} />);
    expect(await screen.findByRole("heading", { name: "LinkedIn post" })).toBeInTheDocument();
    expect(screen.getByText("Wrote the draft.")).toBeInTheDocument();
    expect(screen.getByTestId("timeline")).toHaveTextContent("Reading skill");
    expect(screen.getByText("1200 / 300")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Approve and close the task" }));
    expect(await screen.findAllByText("Approved: the task is closed.")).not.toHaveLength(0);
    expect(calls).toContainEqual(["approve_run", { id: 5 }]);
    expect(screen.queryByRole("button", { name: "Approve and close the task" })).toBeNull();
  });

  it("sends feedback only when there is some", async () => {
    let sent: unknown = null;
    mockBackend((cmd, args) => {
      if (cmd === "get_run") return runView(6, "draft");
      if (cmd === "request_changes") sent = args;
    });
    render(<RunDetail id={6} onBack={() => {}} />);
    const button = await screen.findByRole("button", { name: "Request changes" });
    expect(button).toBeDisabled();
    await userEvent.type(screen.getByPlaceholderText(/What should change/), "Make it shorter");
    await userEvent.click(button);
    await waitFor(() => expect(sent).toEqual({ id: 6, feedback: "Make it shorter" }));
    expect(await screen.findByText(/will rework the task/)).toBeInTheDocument();
  });

  it("appends live progress and shows failures with stderr", async () => {
    mockBackend((cmd) => {
      if (cmd === "get_run") {
        const v = runView(7, "x", { status: "failed", error: "the agent exited with code 2", summary: null });
        v.run.stderr_tail = "Error: something broke";
        v.drafts = [];
        v.run.drafts = [];
        return v;
      }
    });
    render(<RunDetail id={7} onBack={() => {}} />);
    expect(await screen.findByText("the agent exited with code 2")).toBeInTheDocument();
    expect(screen.getByText("Error: something broke")).toBeInTheDocument();
    expect(screen.getByText("No files were written in this run.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Approve and close the task" })).toBeNull();
    await emit("delegate://event", { type: "progress", run_id: 7, employee: "Writer", line: "✍️ Writing drafts/x.md" });
    expect(await screen.findByText(/Writing drafts\/x.md/)).toBeInTheDocument();
  });

  it("explains a missing run", async () => {
    mockBackend((cmd) => {
      if (cmd === "get_run") throw { code: "history", message: "no run with id 99 (see `delegate history`)" };
    });
    render(<RunDetail id={99} onBack={() => {}} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("no run with id 99");
  });

  it("asks the person, sends the answer and shows the conversation", async () => {
    let sent: unknown = null;
    mockBackend((cmd, args) => {
      if (cmd === "get_run") {
        const v = runView(8, "draft", { status: "needs_input", summary: "Two facts are missing." });
        v.run.questions = ["Which customer should the post quote?", "Should it mention the price?"];
        v.thread = [
          { run_id: 7, status: "succeeded", started_at: "2026-11-25T09:00:00Z", input: null, summary: "Wrote the draft.", questions: [], error: null, resumed: false, cost_usd: 0.0421 },
          { run_id: 8, status: "needs_input", started_at: "2026-11-25T10:00:00Z", input: "Add a customer quote.", summary: null, questions: v.run.questions, error: null, resumed: true, cost_usd: 0.0116 },
        ];
        v.task_cost_usd = 0.0537;
        return v;
      }
      if (cmd === "answer_run") sent = args;
    });
    render(<RunDetail id={8} onBack={() => {}} />);
    const box = await screen.findByTestId("questions");
    expect(box).toHaveTextContent("Which customer should the post quote?");
    expect(screen.getByTestId("thread")).toHaveTextContent("You wroteAdd a customer quote.");
    expect(screen.getByTestId("thread")).toHaveTextContent("continued its session");
    expect(screen.queryByRole("button", { name: "Approve and close the task" })).toBeNull();
    const send = screen.getByRole("button", { name: "Send answer" });
    expect(send).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Your answer"), "Ada from Acme. No price.");
    await userEvent.click(send);
    await waitFor(() => expect(sent).toEqual({ id: 8, answer: "Ada from Acme. No price." }));
    expect(await screen.findByText(/continues where it stopped/)).toBeInTheDocument();
  });
});
