"""The page's own style and script, handed to Gradio when the page is mounted.

The style keeps progress in view while a document is written (the text column stays on screen
on a wide page; on a phone the status and counters sit at the bottom of the screen) and gives
every text and button a contrast of at least 4.5:1 (WCAG AA) in light and dark mode. The script
announces status changes to screen readers, writes on Ctrl+Enter in the instruction, brings the
progress into view when a write starts, and follows the newest text as it arrives.
"""

from __future__ import annotations

PAGE_CSS = """
:root {
  --lw-primary: #b4490b;   /* white on it: 5.2:1 */
  --lw-stop: #b3261e;      /* white on it: 6.0:1 */
  --lw-muted: #4b5160;     /* on white: 7.8:1 */
}
.dark {
  --lw-primary: #f0a060;   /* #111 on it: 9.2:1 */
  --lw-stop: #f28b82;
  --lw-muted: #c4c8d0;
}
button.primary, button.primary:hover { background: var(--lw-primary) !important; color: #fff !important; }
button.stop, button.stop:hover { background: var(--lw-stop) !important; color: #fff !important; }
.dark button.primary, .dark button.stop { color: #111 !important; }
button:disabled, button.primary:disabled, button.stop:disabled, button.stop:disabled:hover {
  opacity: 1 !important; background: #e3e5e8 !important; color: #3d4350 !important; }
.dark button:disabled, .dark button.primary:disabled, .dark button.stop:disabled {
  background: #2b2f36 !important; color: #c4c8d0 !important; }
button[role="tab"][aria-selected="true"], button[role="tab"].selected { color: var(--lw-primary) !important; }
textarea::placeholder, input::placeholder { color: var(--lw-muted) !important; opacity: 1; }
#shrink-note, #scores-explained, #endpoint { color: var(--lw-muted); font-size: 0.9em; }
#progress { padding: 6px 10px; background: var(--background-fill-primary); }
#status p, #counters p { margin: 0; }
/* Gradio's container hides its overflow, which would make it the scroller of the sticky text
   column below; clip hides the same without being a scroller. (Outside @media: Gradio scopes the
   rules inside one to elements below its container.) */
.gradio-container { overflow: clip !important; }
@media (min-width: 900px) {
  /* wide page: plan on the left, text on the right, the right column always on screen */
  #text-column { position: sticky; top: 0; align-self: flex-start; }
}
@media (max-width: 899px) {
  /* a phone: status and counters pinned to the bottom edge, whatever is scrolled into view */
  #progress { position: fixed; left: 0; right: 0; bottom: 0; z-index: 50;
              border-top: 1px solid var(--border-color-primary); box-shadow: 0 -2px 6px rgba(0,0,0,.15); }
  #text-column { padding-bottom: 7em; }
}
"""

PAGE_JS = """
() => {
  const announce = () => {
    for (const id of ["status", "counters", "compare-status"]) {
      const element = document.getElementById(id);
      if (element && !element.hasAttribute("aria-live")) {
        element.setAttribute("role", "status");
        element.setAttribute("aria-live", "polite");
      }
    }
  };
  new MutationObserver(announce).observe(document.body, { childList: true, subtree: true });
  announce();
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && event.target.closest("#instruction")) {
      event.preventDefault();
      document.getElementById("write")?.click();
    }
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("#write, #resume, #keep-plan")) {
      document.getElementById("progress")?.scrollIntoView({ block: "nearest" });
    }
  });
  // the text box follows the newest text, unless the reader scrolled up to read
  let following = true;
  const scroller = () => {
    const box = document.getElementById("document");
    if (!box) return null;
    for (const element of [box, ...box.querySelectorAll("*")]) {
      if (element.scrollHeight > element.clientHeight + 4 && getComputedStyle(element).overflowY !== "visible") {
        return element;
      }
    }
    return null;
  };
  document.addEventListener("scroll", (event) => {
    const box = scroller();
    if (box && event.target === box) following = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  }, true);
  new MutationObserver(() => {
    const box = scroller();
    if (box && following) box.scrollTop = box.scrollHeight;
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}
"""
