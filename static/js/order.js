// The Q&A list's order on the reader page: "newest" or "top" (mirrors panel/web/eventview.py
// ORDERS). The server renders the order in the URL (?order=); this module remembers the
// reader's choice in localStorage, follows it on load, and keeps live items in that order.
const KEY = "livepanel:order";
const ORDERS = ["newest", "top"];

function remembered() {
  try {
    const value = localStorage.getItem(KEY);
    return ORDERS.includes(value) ? value : null;
  } catch {
    return null; // storage blocked: the order is in the URL only
  }
}

function remember(order) {
  try {
    localStorage.setItem(KEY, order);
  } catch {
    // storage blocked: the links still work
  }
}

// On load: a page opened without ?order= shows the order the reader chose last time. Returns
// true when the page is being replaced (then the caller starts nothing).
export function followRememberedOrder(root) {
  document.querySelectorAll("#order-toggle a[data-order]").forEach((link) => {
    link.addEventListener("click", () => remember(link.dataset.order));
  });
  const wanted = remembered();
  if (new URL(location.href).searchParams.has("order") || !wanted || wanted === root.dataset.order) {
    return false;
  }
  // A page that says something once (a notice after a form, an error with the text kept) is
  // not reloaded: that would lose it. The order links still carry the choice.
  if (document.querySelector("#ask .notice, #form-error")) return false;
  const url = new URL(location.href);
  url.searchParams.set("order", wanted);
  location.replace(url.href);
  return true;
}

export function currentOrder() {
  return document.getElementById("event")?.dataset.order === "top" ? "top" : "newest";
}

function votes(article) {
  return Number(article.querySelector(".question-head .upvotes")?.dataset.upvotes || 0);
}

// Where a new (or newly unpinned) question goes: at the top of the unpinned questions for
// "newest"; for "top", before the first unpinned question with no more votes (it is the newest).
export function placeBefore(questions, article) {
  const top = currentOrder() === "top";
  const mine = votes(article);
  return (
    [...questions.children].find(
      (n) => n !== article && !n.classList.contains("pinned") && (!top || votes(n) <= mine),
    ) || null
  );
}

// "Top": pinned first, then by votes; ties keep their order (the newest first). Moves nothing
// when the order is already right, so focus and scroll stay put.
export function resort(questions) {
  if (currentOrder() !== "top") return false;
  const items = [...questions.querySelectorAll(":scope > article.question")];
  const sorted = items
    .map((node, index) => ({ node, index }))
    .sort(
      (a, b) =>
        Number(b.node.classList.contains("pinned")) - Number(a.node.classList.contains("pinned")) ||
        votes(b.node) - votes(a.node) ||
        a.index - b.index,
    )
    .map((x) => x.node);
  if (sorted.every((node, i) => node === items[i])) return false;
  questions.append(...sorted);
  return true;
}
