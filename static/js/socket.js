// A WebSocket that reconnects with backoff and reports its state.
// `url()` is called on every (re)connect so the caller can resume from its last seq.
// `poll()`, if given, is the fallback while the socket cannot connect (the server refuses
// sockets over its caps with HTTP 429, which a browser reports as a failed connection).

const STABLE_MS = 10000; // a socket open this long was not refused: start backing off anew
const MAX_DELAY_MS = 60000;
const POLL_MS = 15000;

export function openStream(url, { onFrames, onState, poll }) {
  let ws = null;
  let attempts = 0;
  let timer = null;
  let pollTimer = null;
  let stopped = false;

  // While the socket keeps failing, ask the polling twin now and then (with jitter).
  function startPolling() {
    if (!poll || pollTimer || stopped) return;
    const tick = async () => {
      try {
        await poll();
      } catch {
        // offline too: the next tick tries again
      }
      pollTimer = setTimeout(tick, POLL_MS * (0.75 + Math.random() / 2));
    };
    pollTimer = setTimeout(tick, 0);
  }
  function stopPolling() {
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  function connect() {
    clearTimeout(timer);
    if (stopped) return;
    onState("connecting");
    ws = new WebSocket(url());
    let openedAt = null;
    ws.onopen = () => {
      openedAt = Date.now();
      stopPolling();
      onState("live");
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onFrames(Array.isArray(message) ? message : [message]);
    };
    ws.onclose = (event) => {
      ws = null;
      if (stopped) return;
      // Only a socket that stayed open resets the backoff: one refused at once (over a cap,
      // or closed with 1013) must not come straight back.
      if (openedAt !== null && Date.now() - openedAt >= STABLE_MS) attempts = 0;
      if (event.code === 1008) {
        // Refused by policy (unknown event, signed out): retrying would not help.
        stopped = true;
        onState("refused");
        return;
      }
      onState("offline");
      // 0.5s, 1s, 2s ... capped at 60s, with jitter so thousands of readers do not return at once.
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
      attempts += 1;
      if (attempts >= 2) startPolling();
      timer = setTimeout(connect, delay);
    };
  }

  window.addEventListener("offline", () => ws && ws.close());
  window.addEventListener("online", () => {
    attempts = 0;
    if (!ws) connect();
  });
  connect();
  return {
    close() {
      stopped = true;
      stopPolling();
      if (ws) ws.close();
    },
  };
}

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

const STATE_TEXT = {
  connecting: "Connecting to live updates…",
  live: "Live updates on.",
  offline: "Connection lost. Reconnecting…",
  refused: "Live updates are not available. Reload the page to try again.",
};

export function showConnection(element, state) {
  if (!element) return;
  element.hidden = false;
  element.dataset.state = state;
  element.textContent = STATE_TEXT[state] || "";
}
