import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown, renderMarkdown } from "./Markdown";

describe("draft rendering", () => {
  it("renders Markdown", () => {
    const html = renderMarkdown("# Title\n\nSome **bold** text\n\n- one\n- two");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<li>two</li>");
  });

  it("never runs scripts, handlers or remote loads", async () => {
    const evil = [
      "<script>window.__pwned = true</script>",
      '<img src="x" onerror="window.__pwned = true">',
      '<img src="https://tracker.example/p.png" alt="pixel">',
      '<a href="javascript:window.__pwned=true" onclick="window.__pwned=true">click</a>',
      '<iframe src="https://example.com"></iframe>',
      '<div style="background:url(https://example.com/x)">styled</div>',
      '<svg onload="window.__pwned=true"></svg>',
    ].join("\n\n");
    const { container } = render(<Markdown text={evil} />);
    // jsdom runs no scripts, so a "was it executed" flag could never be set here: what is
    // checked is the sanitized DOM itself — no element or attribute that could run or load.
    const all = Array.from(container.querySelectorAll("*"));
    expect(all.filter((el) => ["SCRIPT", "IFRAME", "SVG", "IMG", "OBJECT", "EMBED", "STYLE"].includes(el.tagName.toUpperCase()))).toEqual([]);
    const attrs = all.flatMap((el) => Array.from(el.attributes).map((a) => `${el.tagName.toLowerCase()}[${a.name}=${a.value}]`));
    expect(attrs.filter((a) => /\[on|\[style=|javascript:|\[src=http/i.test(a))).toEqual([]);
    const html = container.innerHTML;
    expect(html).not.toMatch(/<script|onerror|onclick|onload|<iframe|<svg|javascript:|style=/i);
    // What a person sees instead: the text, and a placeholder for the remote image.
    expect(container.textContent).toContain("click");
    expect(container.textContent).toContain("styled");
    expect(html).toContain("[image: pixel]");
    expect(container.querySelector("a")?.getAttribute("href")).toBeNull();
    expect(container.querySelectorAll("img")).toHaveLength(0);
  });

  it("keeps inline data images", () => {
    const html = renderMarkdown("![dot](data:image/png;base64,iVBORw0KGgo=)");
    expect(html).toContain('src="data:image/png;base64,iVBORw0KGgo="');
  });
});
