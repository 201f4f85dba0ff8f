import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { SettingsView } from "../bindings/SettingsView";
import { mockBackend } from "../test/backend";
import { Settings } from "./Settings";

const NONE = { source: "todoist", set: false, origin: null, problem: null, summary: "No token saved. Employees that use the local queue work without one." };
const SAVED = { source: "todoist", set: true, origin: "keychain", problem: null, summary: "A token is saved in the OS keychain." };

const base: SettingsView = {
  notifications: { draft_ready: true, question: true, gave_up: true, budget_reached: true, token_rejected: true, needs_attention: true },
  autostart: true,
  global_daily_usd: null,
};

describe("Settings", () => {
  it("sets and tests the token without ever showing it", async () => {
    let set = false;
    mockBackend((cmd, args) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") {
        const source = (args as { source: string }).source;
        return source === "todoist" && set ? SAVED : { ...NONE, source };
      }
      if (cmd === "set_token") {
        expect(args).toEqual({ token: "secret-123", source: "todoist" });
        set = true;
        return SAVED;
      }
      if (cmd === "check_token") return "Ada <ada@example.com>";
    });
    render(<Settings />);
    const todoist = await screen.findByRole("group", { name: "Todoist connection" });
    // The element is there at once; its text follows the backend's answer.
    await waitFor(() => expect(screen.getByTestId("token-state-todoist")).toHaveTextContent("No token saved"));
    await userEvent.type(within(todoist).getByLabelText("Todoist API token"), "secret-123");
    await userEvent.click(within(todoist).getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Saved. Connected as Ada <ada@example.com>.")).toBeInTheDocument();
    expect(screen.getByTestId("token-state-todoist")).toHaveTextContent("saved in the OS keychain");
    expect(within(todoist).getByLabelText("Todoist API token")).toHaveValue("");
    expect(document.body.textContent).not.toContain("secret-123");
  });

  it("keeps each source's token apart: GitHub's is set for GitHub only", async () => {
    const sets: unknown[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return { ...NONE, source: (args as { source: string }).source };
      if (cmd === "set_token") {
        sets.push(args);
        return { ...SAVED, source: "github" };
      }
      if (cmd === "check_token") {
        expect(args).toEqual({ source: "github" });
        return "octocat (The Octocat)";
      }
    });
    render(<Settings />);
    const github = await screen.findByRole("group", { name: "GitHub connection" });
    // Where to get a token is a hint under the field, not a placeholder cut off by the field.
    expect(within(github).getByLabelText("GitHub personal access token")).toHaveAttribute("placeholder", "Paste a new personal access token");
    expect(within(github).getByText(/Issues read and write/)).toHaveClass("hint");
    await userEvent.type(within(github).getByLabelText("GitHub personal access token"), "ghp_abc");
    await userEvent.click(within(github).getByRole("button", { name: "Save" }));
    expect(await within(github).findByText("Saved. Connected as octocat (The Octocat).")).toBeInTheDocument();
    expect(sets).toEqual([{ token: "ghp_abc", source: "github" }]);
    expect(screen.getByTestId("token-state-github")).toHaveTextContent("saved in the OS keychain");
    expect(screen.getByTestId("token-state-todoist")).toHaveTextContent("No token saved");
  });

  it("shows a rejected token and keychain problems", async () => {
    mockBackend((cmd, args) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return { ...SAVED, source: (args as { source: string }).source };
      if (cmd === "check_token") throw { code: "token_rejected", message: "Todoist rejected the API token (HTTP 401)" };
    });
    render(<Settings />);
    const todoist = await screen.findByRole("group", { name: "Todoist connection" });
    await waitFor(() => expect(within(todoist).getByRole("button", { name: "Test" })).toBeEnabled());
    await userEvent.click(within(todoist).getByRole("button", { name: "Test" }));
    expect(await screen.findByText(/rejected the API token/)).toBeInTheDocument();
  });

  it("shows why the keychain cannot be read, in the backend's words", async () => {
    const problem = "the OS keychain is not available: no Secret Service. Install and start gnome-keyring";
    mockBackend((cmd, args) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return { source: (args as { source: string }).source, set: false, origin: null, problem, summary: problem };
    });
    render(<Settings />);
    // The element is there at once; its text follows the backend's answer.
    await waitFor(() => expect(screen.getByTestId("token-state-todoist")).toHaveTextContent("Install and start gnome-keyring"));
  });

  it("saves switches and checks the budget", async () => {
    const saved: SettingsView[] = [];
    mockBackend((cmd, args) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return NONE;
      if (cmd === "save_settings") saved.push((args as { settings: SettingsView }).settings);
    });
    render(<Settings />);
    await userEvent.click(await screen.findByLabelText(/Start Delegate when I log in/));
    await waitFor(() => expect(saved.at(-1)?.autostart).toBe(false));
    await userEvent.click(screen.getByLabelText("A draft is ready for review"));
    await waitFor(() => expect(saved.at(-1)?.notifications.draft_ready).toBe(false));
    fireEvent.change(screen.getByPlaceholderText("No limit"), { target: { value: "-3" } });
    await userEvent.click(screen.getByRole("button", { name: "Save budget" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("0 or more");
    await userEvent.clear(screen.getByPlaceholderText("No limit"));
    await userEvent.type(screen.getByPlaceholderText("No limit"), "12.5");
    await userEvent.click(screen.getByRole("button", { name: "Save budget" }));
    await waitFor(() => expect(saved.at(-1)?.global_daily_usd).toBe(12.5));
  });

  it("switches the theme", async () => {
    mockBackend((cmd) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return NONE;
    });
    render(<Settings />);
    await userEvent.selectOptions(await screen.findByLabelText("Theme"), "dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    await userEvent.selectOptions(screen.getByLabelText("Theme"), "system");
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });
});
