// Live updates never move what the reader is reading. While they are scrolled down into the Q&A
// list, new questions and answers (and moves: pinning, merging) are held back and a bar says
// "3 new answers — show"; pressing it puts them in (and re-sorts a "Top" list). While the top of
// the list is on screen, frames go in at once, and so does an answer that lands below the screen.
// Upvote counts change in place; a "Top" list is re-sorted only on "show" or when its top is on
// screen.
import { resort } from "./order.js";

export function newItemsBar(questions, run) {
  const bar = document.getElementById("new-items");
  let held = [];
  let resortDue = false;

  const atTop = () => questions.getBoundingClientRect().top >= 0;
  const shown = (id) => document.getElementById(id);
  const questionIdOf = (frame) => frame.data.question?.id ?? frame.data.answer?.question_id;

  function movesSomething(frame) {
    const d = frame.data;
    if (frame.type === "question.published") return !shown(`q-${d.question.id}`);
    if (frame.type === "answer.published") return !shown(`a-${d.answer.id}`);
    if (frame.type === "question.updated") {
      const node = shown(`q-${d.question.id}`);
      const isArticle = node?.tagName === "ARTICLE";
      if (d.question.merged_into) return isArticle; // an article becomes a line elsewhere
      return !isArticle || node.classList.contains("pinned") !== d.question.pinned;
    }
    return false;
  }

  // An answer added under a question whose end is below the screen moves nothing the reader
  // sees, so it goes in at once (and is there when they scroll on).
  function belowTheScreen(frame) {
    if (frame.type !== "answer.published") return false;
    const holder = shown(`q-${frame.data.answer.question_id}-answers`);
    return Boolean(holder) && holder.getBoundingClientRect().bottom > window.innerHeight;
  }

  function take(frame) {
    const type = frame.type || "";
    if (!type.startsWith("question.") && !type.startsWith("answer.")) return false;
    if (type.endsWith(".withdrawn")) {
      // Taken down at once, wherever the reader is; nothing held may bring it back.
      const gone = type === "question.withdrawn" ? (f) => questionIdOf(f) === frame.data.id : (f) => f.data.answer?.id === frame.data.id;
      held = held.filter((f) => !gone(f));
      showBar();
      return false;
    }
    if (atTop()) {
      if (held.length) {
        held.push(frame);
        show(false);
        return true;
      }
      run(frame);
      resort(questions);
      return true;
    }
    if (!held.length && (!movesSomething(frame) || belowTheScreen(frame))) {
      if (type === "question.updated") resortDue = true; // votes changed: re-sort later
      return false;
    }
    held.push(frame);
    showBar();
    return true;
  }

  function counts() {
    const questionIds = new Set();
    const answerIds = new Set();
    for (const f of held) {
      if (f.type === "question.published" && !f.data.question.merged_into) questionIds.add(f.data.question.id);
      if (f.type === "answer.published" && !shown(`a-${f.data.answer.id}`)) answerIds.add(f.data.answer.id);
    }
    return { questions: questionIds.size, answers: answerIds.size };
  }

  function label() {
    const n = counts();
    const parts = [];
    if (n.questions) parts.push(`${n.questions} new question${n.questions === 1 ? "" : "s"}`);
    if (n.answers) parts.push(`${n.answers} new answer${n.answers === 1 ? "" : "s"}`);
    return `${parts.join(" and ") || "Questions moved"} — show`;
  }

  function showBar() {
    if (!bar) return;
    if (!held.length) {
      bar.replaceChildren();
      return;
    }
    let button = bar.querySelector("button");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.addEventListener("click", () => show(true));
      bar.append(button);
    }
    button.textContent = label();
  }

  // Put in what was held, in the order it came; with `jump`, take the reader (and the focus) to
  // the highest of the new items, or to the list's heading when that is the list's first item.
  function show(jump) {
    const frames = held;
    held = [];
    frames.forEach(run);
    resort(questions);
    resortDue = false;
    showBar();
    if (jump) goTo(highestNew(frames));
  }

  function highestNew(frames) {
    const added = frames
      .map((f) => (f.type === "question.published" ? shown(`q-${f.data.question.id}`) : f.type === "answer.published" ? shown(`a-${f.data.answer.id}`) : null))
      .filter((node) => node && questions.contains(node));
    return added.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)[0] || null;
  }

  function goTo(node) {
    const inFirst = !node || questions.firstElementChild?.contains(node);
    const target = inFirst ? document.getElementById("qa-heading") : node;
    if (!target) return;
    if (!target.hasAttribute("tabindex")) target.tabIndex = -1;
    target.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  }

  // Back at the top of the list: a "Top" list catches up with the votes.
  window.addEventListener("scroll", () => {
    if (resortDue && !held.length && atTop()) {
      resortDue = false;
      resort(questions);
    }
  }, { passive: true });

  // A link to an answer still held back (e.g. "read the answer") shows the held items first.
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.('a[href^="#a-"], a[href^="#q-"]');
    if (link && held.length && !shown(link.getAttribute("href").slice(1))) show(false);
  }, true);

  return { take };
}
