// The panelist console. One answer box at a time; what is typed is kept on this device at
// every keystroke and on the server every couple of seconds; the live list is patched around
// the open box, which is never re-rendered, so the caret, the selection and the scroll
// position stay where they are. New questions wait behind "N new questions — show".
import { openStream, showConnection, wsUrl } from "./socket.js";
import { fragmentRefresher, noteForm, oneAtATime } from "./staff.js";

const SAVE_EVERY_MS = 1500; // server saves while typing: at most one per this interval
const CLAIM_CHECK_MS = 5000; // how often lapsed "being answered by" marks are hidden

const root = document.getElementById("console");
if (root) startConsole(root);

// -- drafts on this device ------------------------------------------------------------------
// draft:<question> {body, synced}: synced means the server has this exact text.
// edit:<answer> {body, base}: base is the published text the edit started from.
// open {mode, questionId, answerId}: the box to reopen after a reload or a filter change.
function deviceStore(slug, me) {
  const prefix = `livepanel:${slug}:${me}:`;
  return {
    get(key) {
      try {
        return JSON.parse(localStorage.getItem(prefix + key));
      } catch {
        return null;
      }
    },
    put(key, value) {
      try {
        localStorage.setItem(prefix + key, JSON.stringify(value));
      } catch {
        // storage full or disabled: the server copy still protects the text
      }
    },
    remove(key) {
      try {
        localStorage.removeItem(prefix + key);
      } catch {
        // as above
      }
    },
  };
}

function startConsole(root) {
  const slug = root.dataset.slug;
  const show = root.dataset.show;
  const base = `/console/${encodeURIComponent(slug)}`;
  const region = document.getElementById("console-questions");
  const banner = document.getElementById("new-questions");
  const device = deviceStore(slug, root.dataset.me);
  const list = () => document.getElementById("console-list");
  const seen = new Set(questionIds(list())); // shown to the panelist at least once
  const held = new Set(); // arrived since: hidden until "show"
  let box = null; // the open answer box
  let opening = null; // question id of a box being opened (kept in the list meanwhile)
  let lastAnswered = null; // just published: stays in view (with its notice) until the next box
  let clockOffset = serverOffset(list());

  const refreshNotes = fragmentRefresher(
    document.getElementById("backstage-notes"),
    () => `${base}/backstage`,
  );
  noteForm(document.getElementById("note-form"), { onSent: refreshNotes });

  // -- the live list ------------------------------------------------------------------------
  const refresh = oneAtATime(async () => {
    try {
      const keep = box?.questionId ?? opening ?? lastAnswered;
      const url = `${base}/questions?show=${encodeURIComponent(show)}${keep ? `&keep=${keep}` : ""}`;
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (response.ok) patch(await response.text());
    } catch {
      // offline: the reconnect refreshes
    }
  });

  function patch(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const incoming = template.content.getElementById("console-list");
    const current = list();
    if (!incoming || !current) return;
    clockOffset = serverOffset(incoming);
    const anchor = scrollAnchor(current);
    const anchorTop = anchor?.getBoundingClientRect().top;
    const wanted = [...incoming.children];
    const wantedIds = new Set(wanted.map((li) => li.id));
    for (const li of [...current.children]) {
      if (!wantedIds.has(li.id) && !holdsBox(li)) {
        held.delete(li.dataset.questionId);
        li.remove();
      }
    }
    let cursor = current.firstElementChild;
    for (const fresh of wanted) {
      let li = document.getElementById(fresh.id);
      if (li && li.parentElement === current) {
        updateView(li, fresh);
      } else {
        li = fresh;
        if (!seen.has(li.dataset.questionId)) {
          li.hidden = true; // never pushed in above the panelist's eyes: announced instead
          held.add(li.dataset.questionId);
        }
      }
      if (li === cursor) {
        cursor = cursor.nextElementSibling;
        continue;
      }
      if (holdsBox(li)) {
        // The open box is never moved (moving it would blur it): move what sits above it.
        while (cursor && cursor !== li) {
          const next = cursor.nextElementSibling;
          current.append(cursor);
          cursor = next;
        }
        cursor = li.nextElementSibling;
        continue;
      }
      current.insertBefore(li, cursor);
    }
    const empty = region.querySelector("#console-empty");
    const nothing = current.children.length === 0;
    if (nothing && !empty) region.prepend(template.content.getElementById("console-empty") || "");
    if (!nothing && empty) empty.remove();
    if (anchor && anchor.isConnected && anchorTop !== undefined) {
      window.scrollBy(0, anchor.getBoundingClientRect().top - anchorTop);
    }
    expireClaims();
    announce();
  }

  function updateView(li, fresh) {
    const view = li.querySelector(".cq-view");
    const next = fresh.querySelector(".cq-view");
    li.className = fresh.className;
    if (!view || !next || view.isEqualNode(next)) return;
    const before = view.querySelector(".question-body")?.textContent;
    const focusedId = view.contains(document.activeElement) ? document.activeElement.id : null;
    const focusedClass = focusedId ? null : view.contains(document.activeElement) && document.activeElement.className;
    view.innerHTML = next.innerHTML;
    if (focusedId) document.getElementById(focusedId)?.focus({ preventScroll: true });
    else if (focusedClass) view.getElementsByClassName(focusedClass)[0]?.focus({ preventScroll: true });
    if (holdsBox(li) && before !== view.querySelector(".question-body")?.textContent) {
      say("The editors edited this question while you were writing. Your text is unchanged.");
    }
  }

  function holdsBox(li) {
    return !!box && li.contains(box.form);
  }

  function scrollAnchor(current) {
    if (box && box.form.isConnected) {
      const rect = box.textarea.getBoundingClientRect();
      if (rect.bottom > 0 && rect.top < window.innerHeight) return box.textarea;
    }
    for (const li of current.children) {
      if (!li.hidden && li.getBoundingClientRect().bottom > 0) return li;
    }
    return null;
  }

  function announce() {
    const count = held.size;
    if (String(count) === banner.dataset.count) return; // unchanged: nothing new to announce
    banner.dataset.count = String(count);
    banner.textContent = "";
    if (!count) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button-small";
    button.textContent = `${count} new question${count === 1 ? "" : "s"} — show`;
    button.addEventListener("click", revealNew);
    banner.append(button);
  }

  function revealNew() {
    let first = null;
    for (const li of list().children) {
      if (li.hidden && held.has(li.dataset.questionId)) {
        li.hidden = false;
        first = first || li;
      }
      seen.add(li.dataset.questionId);
    }
    held.clear();
    announce();
    const heading = first?.querySelector(".question-body");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  function expireClaims() {
    const now = Date.now() + clockOffset;
    document.querySelectorAll(".claim[data-until]").forEach((mark) => {
      if (Date.parse(mark.dataset.until) <= now) mark.hidden = true;
    });
  }
  setInterval(expireClaims, CLAIM_CHECK_MS);

  // -- the answer box -----------------------------------------------------------------------
  function say(text, { error = false } = {}) {
    if (!box) return;
    box.status.textContent = text;
    box.status.classList.toggle("form-error", error);
  }

  function localKey(b) {
    return b.mode === "edit" ? `edit:${b.answerId}` : `draft:${b.questionId}`;
  }

  async function openBox({ mode, questionId, answerId }, { focus = true } = {}) {
    if (box && box.mode === mode && box.questionId === questionId && box.answerId === answerId) {
      if (focus) box.textarea.focus();
      return;
    }
    if (box) await closeBox();
    opening = questionId;
    try {
      if (!document.getElementById(`cq-${questionId}`)) await refresh();
      const li = document.getElementById(`cq-${questionId}`);
      if (!li) return;
      const query = mode === "edit" ? `edit=${answerId}` : `answer=${questionId}`;
      const response = await fetch(`${base}/compose?${query}&show=${encodeURIComponent(show)}`, {
        headers: { Accept: "text/html" },
      });
      if (!response.ok) return;
      const slot = li.querySelector(".cq-compose");
      slot.innerHTML = await response.text();
      li.hidden = false;
      seen.add(String(questionId));
      held.delete(String(questionId));
      announce();
      attach(slot.querySelector("#composer"), { focus });
    } catch {
      // offline: the link still works as a page once the connection is back
    } finally {
      opening = null;
    }
  }

  function attach(form, { focus = true } = {}) {
    if (!form) return;
    const textarea = form.querySelector("textarea");
    box = {
      form,
      textarea,
      status: form.querySelector("#composer-status"),
      count: form.querySelector("#composer-count .count"),
      saved: form.querySelector("#composer-count .saved"),
      mode: form.dataset.mode,
      questionId: Number(form.dataset.questionId),
      answerId: form.dataset.answerId ? Number(form.dataset.answerId) : null,
      limit: Number(form.dataset.limit),
      serverText: textarea.value, // what the server holds (the draft, or the published text)
      timer: null,
      saveFailed: false,
    };
    const local = device.get(localKey(box));
    if (box.mode === "answer" && local && !local.synced && local.body !== textarea.value) {
      textarea.value = local.body; // typed here, not yet on the server: this device wins
    }
    if (box.mode === "edit" && local && local.base === box.serverText) textarea.value = local.body;
    device.put("open", { mode: box.mode, questionId: box.questionId, answerId: box.answerId });
    form.querySelector(".save-draft")?.setAttribute("hidden", ""); // saving is automatic here
    textarea.addEventListener("input", onInput);
    form.addEventListener("submit", onSubmit);
    form.querySelector(".close-link")?.addEventListener("click", (event) => {
      event.preventDefault();
      closeBox();
    });
    counted();
    if (box.mode === "answer") claim(box);
    if (focus) {
      textarea.focus({ preventScroll: false });
      textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    }
    if (textarea.value !== box.serverText) scheduleSave();
  }

  function counted() {
    const length = box.textarea.value.length;
    box.count.textContent = length.toLocaleString("en-GB");
    if (length > box.limit) {
      say(
        `Your answer is ${length.toLocaleString("en-GB")} characters; the limit is ` +
          `${box.limit.toLocaleString("en-GB")}. It is kept on this device: shorten it to save and publish it.`,
        { error: true },
      );
      return false;
    }
    if (box.status.classList.contains("too-long")) say("");
    return true;
  }

  function onInput() {
    const b = box;
    if (b.mode === "edit") device.put(localKey(b), { body: b.textarea.value, base: b.serverText });
    else device.put(localKey(b), { body: b.textarea.value, synced: false });
    b.saved.textContent = "";
    b.status.classList.toggle("too-long", !counted());
    scheduleSave();
  }

  function scheduleSave() {
    if (!box || box.mode !== "answer" || box.timer) return;
    const b = box;
    b.timer = setTimeout(() => {
      b.timer = null;
      saveDraft(b);
    }, SAVE_EVERY_MS);
  }

  async function saveDraft(b, { keepalive = false } = {}) {
    const body = b.textarea.value;
    if (body === b.serverText || body.length > b.limit) return;
    const result = await send(`${base}/questions/${b.questionId}/draft`, { body }, { keepalive });
    if (result.ok) {
      b.serverText = body;
      if (b.textarea.value === body) device.put(localKey(b), { body, synced: true });
      if (box === b) {
        b.saved.textContent = " · Draft saved";
        if (b.saveFailed) say(""); // only the message of a failed save is cleared by a good one
        b.saveFailed = false;
      }
    } else if (box === b) {
      b.saved.textContent = result.offline ? " · Kept on this device until the connection is back" : "";
      if (!result.offline) {
        b.saveFailed = true;
        say(result.message, { error: true });
      }
    }
  }

  async function claim(b) {
    const result = await send(`${base}/questions/${b.questionId}/claim`, {});
    if (!result.ok && !result.offline && box === b) say(result.message, { error: true });
  }

  async function closeBox() {
    const b = box;
    if (!b) return;
    clearTimeout(b.timer);
    box = null;
    device.remove("open");
    if (b.mode === "answer") {
      const body = b.textarea.value;
      if (body.length <= b.limit) {
        const result = await send(`${base}/questions/${b.questionId}/release`, { body });
        if (result.ok) {
          if (body) device.put(localKey(b), { body, synced: true });
          else device.remove(localKey(b));
        }
      }
    }
    b.form.remove();
    refresh();
  }

  async function onSubmit(event) {
    event.preventDefault();
    const b = box;
    const intent = event.submitter?.value || "publish";
    if (intent === "save") return saveDraft(b);
    if (intent === "discard") return discardBox(b);
    clearTimeout(b.timer);
    b.timer = null;
    if (!counted()) return;
    say(b.mode === "edit" ? "Saving…" : "Publishing…");
    const data = new FormData(b.form);
    data.set("intent", "publish");
    let response;
    try {
      response = await fetch(b.form.getAttribute("action"), {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
      });
    } catch {
      say("Could not reach the server. Your text is kept here and on this device: try again.", { error: true });
      return;
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => null);
      const reason = problem?.error?.message || "The server did not accept this answer.";
      say(`Not published: ${reason} Your text is kept here.`, { error: true });
      if (b.mode === "answer") saveDraft(b);
      return;
    }
    device.remove(localKey(b));
    device.remove("open");
    lastAnswered = b.questionId;
    const slot = b.form.parentElement;
    box = null;
    b.form.remove();
    const notice = document.createElement("p");
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.textContent = b.mode === "edit" ? "Your answer is updated." : "Your answer is published.";
    slot.replaceChildren(notice);
    refresh();
  }

  async function discardBox(b) {
    if (b.textarea.value.trim() && !window.confirm("Discard this draft? The text cannot be recovered.")) return;
    clearTimeout(b.timer);
    const result = b.mode === "answer" ? await send(`${base}/questions/${b.questionId}/discard`, {}) : { ok: true };
    if (!result.ok) {
      say(result.message || "Could not discard the draft just now; try again.", { error: true });
      return;
    }
    device.remove(localKey(b));
    device.remove("open");
    box = null;
    b.form.remove();
    refresh();
  }

  // Leaving the page (reload, closing the tab): the text goes to the server; the mark goes.
  window.addEventListener("pagehide", () => {
    if (!box || box.mode !== "answer" || box.textarea.value.length > box.limit) return;
    send(`${base}/questions/${box.questionId}/release`, { body: box.textarea.value }, { keepalive: true });
  });

  // -- clicks: answer, edit, flag, preview ----------------------------------------------------
  root.addEventListener("click", async (event) => {
    const answer = event.target.closest(".answer-link");
    const edit = event.target.closest(".edit-link");
    const flag = event.target.closest(".flag-link");
    const preview = event.target.closest(".preview-button");
    if (answer) {
      event.preventDefault();
      openBox({ mode: "answer", questionId: Number(answer.dataset.answer), answerId: null });
    } else if (edit) {
      event.preventDefault();
      openBox({ mode: "edit", questionId: Number(edit.dataset.question), answerId: Number(edit.dataset.edit) });
    } else if (flag) {
      event.preventDefault();
      document.getElementById("note-about").value = flag.dataset.flag;
      const field = document.getElementById("note-body");
      field.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
    } else if (preview) {
      const field = document.getElementById(preview.dataset.for);
      const target = document.getElementById("composer-preview");
      const response = await fetch(`${base}/preview`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ body: field.value.slice(0, 20000) }),
      });
      if (!response.ok || !target) return;
      target.innerHTML = (await response.json()).html; // rendered and sanitised by the server
      target.hidden = false;
    }
  });

  // -- start ------------------------------------------------------------------------------------
  const rendered = document.getElementById("composer");
  if (rendered) attach(rendered, { focus: false });
  else {
    const open = device.get("open");
    if (open && open.questionId) openBox(open, { focus: true });
  }
  expireClaims();

  openStream(() => wsUrl(`/staff/events/${encodeURIComponent(slug)}/live`), {
    onFrames: (frames) => {
      if (frames.some((frame) => frame.data?.note)) refreshNotes();
      if (frames.some((frame) => !frame.data?.note)) refresh();
    },
    onState: (state) => {
      showConnection(document.getElementById("connection"), state);
      if (state !== "live") return;
      refresh(); // catch up on anything missed while away
      refreshNotes();
      if (box && box.mode === "answer") saveDraft(box);
    },
  });
}

// -- helpers ------------------------------------------------------------------------------------
function questionIds(list) {
  return list ? [...list.children].map((li) => li.dataset.questionId) : [];
}

// The server's clock against this device's, so that a claim lapses at the server's time.
function serverOffset(list) {
  const now = list && Date.parse(list.dataset.now);
  return Number.isFinite(now) ? now - Date.now() : 0;
}

// A JSON call of the console's: {ok, offline, message}.
async function send(url, body, { keepalive = false } = {}) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      keepalive,
    });
    if (response.ok) return { ok: true };
    const problem = await response.json().catch(() => null);
    return { ok: false, message: problem?.error?.message || `The server said ${response.status}.` };
  } catch {
    return { ok: false, offline: true };
  }
}
