// Renders an agent's draft as Markdown. The HTML is sanitized (DOMPurify): no scripts, no
// event handlers, no forms or frames, and no remote loads — images must be data: URLs, links
// never navigate the window. The window's CSP blocks the same things a second time.
import DOMPurify from "dompurify";
import { marked } from "marked";
import { useMemo } from "react";

const FORBID_TAGS = ["script", "style", "iframe", "frame", "object", "embed", "form", "input", "button", "link", "meta", "base", "svg", "math"];

export function renderMarkdown(text: string): string {
  const raw = marked.parse(text, { async: false, gfm: true, breaks: false });
  const purify = DOMPurify(window);
  purify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "IMG") {
      const src = node.getAttribute("src") ?? "";
      if (!src.startsWith("data:image/")) {
        node.replaceWith(document.createTextNode(`[image: ${node.getAttribute("alt") || src}]`));
      }
    }
    if (node.tagName === "A") {
      // Links are shown, not followed: the window is not a browser.
      node.setAttribute("title", node.getAttribute("href") ?? "");
      node.removeAttribute("href");
      node.removeAttribute("target");
    }
  });
  return purify.sanitize(raw, {
    FORBID_TAGS,
    FORBID_ATTR: ["style", "srcset", "action", "formaction", "xlink:href"],
    ALLOW_DATA_ATTR: false,
  });
}

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
