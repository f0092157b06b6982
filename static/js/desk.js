// The moderation desk: the queue reloads live; actions post without leaving the page;
// keyboard shortcuts for fast moderation; search as you type; editor presence.
import { fragmentRefresher, liveRegion, noteForm } from "./staff.js";
import { confirmedBody, needsConfirmationPage, startCountdowns } from "./undo.js";

const PRESENCE_EVERY_MS = 10_000; // the server forgets a desk 30 s after its last report
const SEARCH_DELAY_MS = 300;

const desk = document.getElementById("desk");
if (desk) {
  const slug = desk.dataset.slug;
  const regionElement = document.getElementById("queue-region");
  const refreshNotes = fragmentRefresher(
    document.getElementById("backstage-notes"),
    () => `/desk/events/${encodeURIComponent(slug)}/backstage`,
  );
  const region = liveRegion({
    slug,
    regionId: "queue-region",
    fragmentUrl: () => `/desk/events/${encodeURIComponent(slug)}/queue${location.search}`,
    onFrames: (frames) => frames.some((frame) => frame.data?.note) && refreshNotes(),
    // This desk's own presence report changes nothing it shows (it never lists itself), and a
    // refresh for it would replace the queue under the editor's first click.
    ignore: (frame) => String(frame.data?.presence) === desk.dataset.editor,
  });
  noteForm(document.getElementById("note-form"), { onSent: refreshNotes });
  startCountdowns(regionElement);

  regionElement.addEventListener("submit", async (event) => {
    const form = event.target;
    // getAttribute: the forms carry <input name="action">, which shadows form.action.
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return; // sorting and filtering navigate
    if (needsConfirmationPage(form)) return;
    event.preventDefault();
    const focusedAtSubmit = document.activeElement;
    const current = focusedAtSubmit?.closest(".queue-item");
    const next = current?.nextElementSibling?.id || current?.previousElementSibling?.id;
    const response = await fetch(form.getAttribute("action") || location.href, { method: "POST", body: confirmedBody(form) });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("queue-region");
    if (fresh) region.replace(fresh.innerHTML);
    else region.refresh();
    startCountdowns(regionElement);
    // Keep the keyboard user's place: focus the question that took this one's place, unless
    // they moved on to another item while the action was on its way (don't pull them back).
    const now = document.activeElement;
    const movedOn = now && now !== document.body && now !== focusedAtSubmit && now.isConnected;
    const target = next && document.getElementById(next);
    if (target && !movedOn) target.focus();
  });

  const items = () => [...regionElement.querySelectorAll(".queue-item")];
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select")) return; // typing, not commanding
    const list = items();
    const current = document.activeElement?.closest(".queue-item");
    const index = list.indexOf(current);
    const key = event.key;
    if (key === "j" || key === "k") {
      const target = list[key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0)];
      target?.focus();
      event.preventDefault();
      return;
    }
    if (!current) return;
    if (key === "x") {
      const box = current.querySelector(".select");
      if (box) box.checked = !box.checked;
      event.preventDefault();
      return;
    }
    const button = current.querySelector(`button[data-key="${key}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  searchAsYouType(document.getElementById("queue-filter"), region);
  reportPresence(regionElement);
}

// Typing in the search box filters the desk after a pause. The query string stays the source of
// truth (the live refresh re-sends location.search), so a reload keeps the filter.
function searchAsYouType(form, region) {
  const box = form?.querySelector("input[type=search]");
  if (!box) return;
  let timer = null;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const query = new URLSearchParams(new FormData(form));
      for (const [key, value] of [...query]) if (!value) query.delete(key);
      const search = query.toString();
      history.replaceState(null, "", search ? `?${search}` : location.pathname);
      region.refresh();
    }, SEARCH_DELAY_MS);
  });
}

// Tell the server this desk is open, and which question its editor is on: on load, every
// PRESENCE_EVERY_MS while the tab is visible, at once when the focus moves to another question,
// and a goodbye when the page goes away. The server announces changes to every desk.
function reportPresence(regionElement) {
  const desk = document.getElementById("desk");
  const url = desk.dataset.presence;
  const csrf = document.querySelector("#note-form input[name=csrf_token]")?.value;
  if (!url || !csrf) return;
  let reported = null;
  const focusedQuestion = () => document.activeElement?.closest(".queue-item")?.dataset.questionId;
  // The question the editor is on: the focused one, else the last one while it is still listed.
  const current = () => {
    const focused = focusedQuestion();
    if (focused) return focused;
    return reported && regionElement.querySelector(`.queue-item[data-question-id="${CSS.escape(reported)}"]`) ? reported : "";
  };
  const send = async (questionId) => {
    reported = questionId;
    try {
      await fetch(url, {
        method: "POST",
        body: new URLSearchParams({ csrf_token: csrf, question_id: questionId }),
        headers: { Accept: "application/json" },
      });
    } catch {
      // offline: the next report says it again
    }
  };
  send(current());
  setInterval(() => document.visibilityState === "visible" && send(current()), PRESENCE_EVERY_MS);
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && send(current()));
  regionElement.addEventListener("focusin", () => {
    const focused = focusedQuestion();
    if (focused && focused !== reported) send(focused);
  });
  addEventListener("pagehide", () => {
    navigator.sendBeacon(url, new URLSearchParams({ csrf_token: csrf, leaving: "1" }));
  });
  addEventListener("pageshow", (event) => event.persisted && send(current())); // back from the bfcache
}
