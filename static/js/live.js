// The readers' live page: applies stream frames to the server-rendered page.
// Mirrors panel/live/protocol.py. User text goes in with textContent; answer HTML was
// sanitised by the server before it was sent.
import { openStream, showConnection, wsUrl } from "./socket.js";
import { moderationHandlers } from "./openness.js";
import "./feedback.js"; // asking, upvoting and reporting in place; "Questions are closed"
import "./notify.js"; // told when answered
import "./readerlayout.js"; // audience count, the panel's "on now" labels
import { followRememberedOrder, placeBefore } from "./order.js"; // "Top" or "Newest"
import { newItemsBar } from "./newitems.js"; // "3 new answers — show"

const root = document.getElementById("event");
if (root && !followRememberedOrder(root)) start(root);

function start(root) {
  const slug = root.dataset.slug;
  const zone = root.dataset.timezone;
  let lastSeq = Number(root.dataset.lastSeq || 0);
  const questions = document.getElementById("questions");
  const announcer = document.getElementById("announcer");
  const connection = document.getElementById("connection");
  const timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: zone });
  const csrf = document.querySelector("input[name=csrf_token]")?.value || "";

  const handlers = {
    "question.published": (d) => {
      upsertQuestion(d.question);
      setMine(d.question.id, d.question.answered ? "Answered" : "Published");
    },
    "question.updated": (d) => {
      upsertQuestion(d.question);
      if (d.question.answered) setMine(d.question.id, "Answered");
    },
    "question.withdrawn": (d) => {
      document.getElementById(`q-${d.id}`)?.remove();
      setMine(d.id, "Not published");
    },
    "answer.published": (d) => {
      upsertAnswer(d.answer, true);
      setMine(d.answer.question_id, "Answered");
    },
    "answer.updated": (d) => upsertAnswer(d.answer, false),
    "answer.withdrawn": (d) => document.getElementById(`a-${d.id}`)?.remove(),
    "event.status": (d) => {
      setStatus(d.status);
      setOnNow(d.on_now);
    },
    "slot.started": (d) => {
      markSlot(d.slot.id, true);
      setOnNow(d.on_now);
    },
    "slot.ended": (d) => {
      markSlot(d.slot.id, false);
      setOnNow(d.on_now);
    },
  };

  Object.assign(handlers, moderationHandlers(root)); // counts, and "Your questions" live

  function apply(frame) {
    if (frame.type === "stream.reset") {
      location.reload(); // our copy is ahead of the server's log: start again from its state
      return;
    }
    if (typeof frame.seq === "number") {
      if (frame.seq <= lastSeq) return; // already applied: never show a duplicate
      lastSeq = frame.seq;
      root.dataset.lastSeq = String(lastSeq);
    }
    if (!held.take(frame)) run(frame); // held back while the reader is down the list
    document.dispatchEvent(new CustomEvent("livepanel:frame", { detail: frame })); // for feedback.js, notify.js
  }

  function run(frame) {
    const handler = handlers[frame.type];
    if (handler) handler(frame.data);
    document.getElementById("no-questions").hidden = questions.children.length > 0;
  }
  const held = newItemsBar(questions, run);

  const path = `/events/${encodeURIComponent(slug)}`;
  const reader = browserId();
  openStream(() => wsUrl(`${path}/live?since=${lastSeq}&reader=${reader}`), {
    onFrames: (frames) => frames.forEach(apply),
    onState: (state) => showConnection(connection, state),
    poll: async () => {
      // The polling twin: the same frames, a page at a time (a few pages per tick at most).
      for (let page = 0; page < 5; page += 1) {
        const response = await fetch(`/api/v1${path}/stream?since=${lastSeq}`);
        if (!response.ok) return;
        const body = await response.json();
        body.frames.forEach(apply);
        if (!body.more) return;
      }
    },
  });

  // One id per browser, the same in every tab, so the audience counts this reader once.
  function browserId() {
    const fresh = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    try {
      let id = localStorage.getItem("livepanel-reader");
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(id || "")) {
        id = fresh();
        localStorage.setItem("livepanel-reader", id);
      }
      return id;
    } catch {
      return fresh(); // storage blocked: this tab counts on its own
    }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function questionMeta(q) {
    const meta = el("p", "meta");
    meta.append(el("span", "asker", q.name || "Anonymous reader"));
    if (q.to) {
      meta.append(" · to ");
      meta.append(el("span", "to", q.to.name));
    }
    meta.append(" · ");
    const votes = el("span", "upvotes", `${q.upvotes} upvote${q.upvotes === 1 ? "" : "s"}`);
    votes.dataset.upvotes = String(q.upvotes);
    meta.append(votes);
    return meta;
  }

  function upvoteForm(q) {
    const form = el("form", "upvote-form");
    form.method = "post";
    form.action = `/questions/${q.id}/upvote`;
    const token = el("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrf;
    const button = el("button", "button-small", "Upvote");
    button.type = "submit";
    button.setAttribute("aria-label", "Upvote this question");
    form.append(token, button);
    return form;
  }

  function buildQuestion(q) {
    const article = el("article", "question");
    article.id = `q-${q.id}`;
    article.dataset.questionId = String(q.id);
    article.setAttribute("aria-labelledby", `q-${q.id}-title`);
    const head = el("header", "question-head");
    const title = el("h3", "question-body", q.body);
    title.id = `q-${q.id}-title`;
    head.append(title, questionMeta(q), upvoteForm(q));
    const merged = el("div", "merged");
    merged.id = `q-${q.id}-merged`;
    const answers = el("div", "answers");
    answers.id = `q-${q.id}-answers`;
    article.append(head, merged, answers);
    return article;
  }

  function placeQuestion(article, pinned) {
    article.classList.toggle("pinned", pinned);
    const head = article.querySelector(".question-head");
    let label = head.querySelector(".pin-label");
    if (pinned && !label) head.prepend(el("p", "pin-label", "Pinned"));
    if (!pinned && label) label.remove();
    // Pinned questions lead; the rest in the reader's order (order.js).
    if (pinned) {
      questions.prepend(article);
    } else if (!article.parentNode || article.dataset.wasPinned === "true") {
      questions.insertBefore(article, placeBefore(questions, article));
    }
    article.dataset.wasPinned = String(pinned);
  }

  function upsertQuestion(q) {
    let existing = document.getElementById(`q-${q.id}`);
    if (q.merged_into) {
      // Under its kept question: a line (the kept question may have changed: no chains).
      const holder = document.getElementById(`q-${q.merged_into}-merged`);
      const line = mergedLine(q);
      if (existing && existing.parentNode === holder) {
        existing.replaceWith(line);
      } else {
        existing?.remove();
        holder?.append(line);
      }
      return;
    }
    if (existing && existing.tagName !== "ARTICLE") {
      existing.remove(); // separated from the question it was merged into
      existing = null;
    }
    const article = existing || buildQuestion(q);
    article.querySelector(".question-body").textContent = q.body;
    article.querySelector(".question-head .meta").replaceWith(questionMeta(q));
    if (!existing || article.classList.contains("pinned") !== q.pinned) placeQuestion(article, q.pinned);
  }

  function mergedLine(q) {
    const line = el("p", "merged-question", `Similar question from ${q.name || "an anonymous reader"}: `);
    line.id = `q-${q.id}`;
    line.dataset.questionId = String(q.id); // as the server renders it
    line.append(el("span", "question-body", q.body));
    return line;
  }

  function upsertAnswer(a, announce) {
    const holder = document.getElementById(`q-${a.question_id}-answers`);
    let section = document.getElementById(`a-${a.id}`);
    if (!holder) {
      section?.remove(); // its question is not shown
      return;
    }
    const isNew = !section;
    if (isNew) {
      section = el("section", "answer");
      section.id = `a-${a.id}`;
      section.dataset.answerId = String(a.id);
    }
    // A merge (or its undo) moves answers: question_id says where the answer belongs now.
    if (section.parentNode !== holder) holder.append(section);
    section.replaceChildren();
    const by = el("h4", "answer-by", a.by.name);
    if (a.by.role) by.append(el("span", "role", `, ${a.by.role}`));
    const body = el("div", "answer-body");
    body.innerHTML = a.body_html; // sanitised by the server (nh3)
    const meta = el("p", "meta");
    const time = el("time", "", timeFormat.format(new Date(a.created_at)));
    time.setAttribute("datetime", a.created_at);
    meta.append(time);
    if (a.edited) meta.append(" · ", el("span", "edited", "edited"));
    section.append(by, body, meta);
    if (isNew && announce) {
      const question = document.getElementById(`q-${a.question_id}-title`)?.textContent || "";
      announcer.textContent = `New answer from ${a.by.name} to: ${question}`;
    }
  }

  // The reader's own questions (listed only to them): their status follows the stream.
  function setMine(questionId, status) {
    const status_ = document.querySelector(`[data-mine-id="${questionId}"] .my-status`);
    if (status_) status_.textContent = status;
  }

  function setOnNow(people) {
    const list = document.getElementById("on-now");
    list.replaceChildren(
      ...people.map((p) => {
        const item = el("li", "", p.name);
        item.dataset.panelistId = String(p.id);
        return item;
      }),
    );
    document.getElementById("on-now-empty").hidden = people.length > 0;
  }

  function markSlot(slotId, current) {
    document.querySelectorAll(".slot").forEach((slot) => {
      const isThis = slot.dataset.slotId === String(slotId);
      if (current) slot.classList.toggle("current", isThis);
      else if (isThis) slot.classList.remove("current");
    });
  }

  const STATUS_TEXT = { scheduled: "Upcoming", live: "Live now", closed: "Ended", published: "Archived" };
  function setStatus(status) {
    const badge = document.getElementById("event-status");
    badge.textContent = STATUS_TEXT[status] || status;
    badge.className = `badge badge-${status}`;
  }
}
