import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { SettingsView } from "../bindings/SettingsView";
import { mockBackend } from "../test/backend";
import { Settings } from "./Settings";

const NONE = { set: false, origin: null, problem: null, summary: "No token saved. Employees that use the local queue work without one." };
const SAVED = { set: true, origin: "keychain", problem: null, summary: "A token is saved in the OS keychain." };

const base: SettingsView = {
  notifications: { draft_ready: true, gave_up: true, budget_reached: true, token_rejected: true, needs_attention: true },
  autostart: true,
  global_daily_usd: null,
};

describe("Settings", () => {
  it("sets and tests the token without ever showing it", async () => {
    const calls: string[] = [];
    let set = false;
    mockBackend((cmd, args) => {
      calls.push(cmd);
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return set ? SAVED : NONE;
      if (cmd === "set_token") {
        expect(args).toEqual({ token: "secret-123" });
        set = true;
        return SAVED;
      }
      if (cmd === "test_token") return { full_name: "Ada", email: "ada@example.com" };
    });
    render(<Settings />);
    // The element is there at once; its text follows the backend's answer.
    await waitFor(() => expect(screen.getByTestId("token-state")).toHaveTextContent("No token saved"));
    await userEvent.type(screen.getByLabelText("Todoist API token"), "secret-123");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Saved. Connected as Ada <ada@example.com>.")).toBeInTheDocument();
    expect(screen.getByTestId("token-state")).toHaveTextContent("saved in the OS keychain");
    expect(screen.getByLabelText("Todoist API token")).toHaveValue("");
    expect(document.body.textContent).not.toContain("secret-123");
  });

  it("shows a rejected token and keychain problems", async () => {
    mockBackend((cmd) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return SAVED;
      if (cmd === "test_token") throw { code: "token_rejected", message: "Todoist rejected the API token (HTTP 401)" };
    });
    render(<Settings />);
    await userEvent.click(await screen.findByRole("button", { name: "Test" }));
    expect(await screen.findByText(/rejected the API token/)).toBeInTheDocument();
  });

  it("shows why the keychain cannot be read, in the backend's words", async () => {
    const problem = "the OS keychain is not available: no Secret Service. Install and start gnome-keyring";
    mockBackend((cmd) => {
      if (cmd === "get_settings") return base;
      if (cmd === "token_status") return { set: false, origin: null, problem, summary: problem };
    });
    render(<Settings />);
    // The element is there at once; its text follows the backend's answer.
    await waitFor(() => expect(screen.getByTestId("token-state")).toHaveTextContent("Install and start gnome-keyring"));
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
