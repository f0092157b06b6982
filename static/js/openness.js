// Transparent moderation on the reader page (mirrors panel/openness.py): the public question
// counts from `counts` frames, and "Your questions" kept current from the reader's private
// endpoint when an `asker.notice` names one of them. The notice carries an id only; the
// status and any reason an editor shared come from /events/{slug}/mine, with this reader's
// cookie, so no other reader ever receives them. Text goes in with textContent.

export function moderationHandlers(root) {
  const mineUrl = `/events/${encodeURIComponent(root.dataset.slug)}/mine`;
  let running = null;
  let again = false;

  const mineItem = (id) => document.querySelector(`#mine [data-mine-id="${Number(id)}"]`);

  function showMine(item, mine) {
    item.querySelector(".my-status").textContent = mine.status;
    let reason = item.querySelector(".my-reason");
    if (!mine.reason) {
      reason?.remove();
      return;
    }
    if (!reason) {
      reason = document.createElement("span");
      reason.className = "my-reason";
      const text = document.createElement("span");
      text.className = "my-reason-text";
      reason.append(" (the editors said: ", text, ")");
      item.append(reason);
    }
    reason.querySelector(".my-reason-text").textContent = mine.reason;
  }

  async function refreshMine() {
    if (!document.getElementById("mine")) return; // this reader has asked nothing here
    if (running) {
      again = true; // one more fetch after this one, so the last notice is never missed
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const response = await fetch(mineUrl, { credentials: "same-origin", cache: "no-store" });
          if (!response.ok) return;
          for (const mine of (await response.json()).questions) {
            const item = mineItem(mine.id);
            if (item) showMine(item, mine);
          }
        } catch {
          return; // offline: the next notice, or coming back online, fetches again
        }
      } while (again);
    })();
    await running;
    running = null;
  }

  window.addEventListener("online", refreshMine);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshMine();
  });

  return {
    counts: (d) => {
      for (const [name, value] of Object.entries(d)) {
        const node = document.querySelector(`#question-counts [data-count="${name}"]`);
        if (node && Number.isInteger(value)) node.textContent = String(value);
      }
    },
    "asker.notice": (d) => {
      if (mineItem(d.question_id)) refreshMine();
    },
  };
}
