import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Words } from "./Words";

describe("Words", () => {
  it("shows `backticked` names as code and the rest as text", () => {
    const { container } = render(<p><Words text="a classic token with the `repo` scope; or log in with `gh auth login`" /></p>);
    expect(container.textContent).toBe("a classic token with the repo scope; or log in with gh auth login");
    expect([...container.querySelectorAll("code")].map((c) => c.textContent)).toEqual(["repo", "gh auth login"]);
  });

  it("leaves text without backticks alone", () => {
    const { container } = render(<p><Words text="Todoist → Settings → Integrations → Developer: copy the API token" /></p>);
    expect(container.querySelector("code")).toBeNull();
    expect(container.textContent).toBe("Todoist → Settings → Integrations → Developer: copy the API token");
  });
});
