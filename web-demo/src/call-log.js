// call-log.js: the call log: the last 30 calls in localStorage and their
// list on the page.
import { $ } from './dom.js';
import { fmtDuration } from './call-timer.js';

const LOG_STORE = 'sipedge.demo.calllog';

export function loadLog() {
  try {
    return JSON.parse(localStorage.getItem(LOG_STORE) || '[]');
  } catch {
    return [];
  }
}

// addLog records one call: {direction, peer, at, answered, durationMs, result}.
export function addLog(entry) {
  const log = [entry, ...loadLog()].slice(0, 30);
  localStorage.setItem(LOG_STORE, JSON.stringify(log));
  renderLog();
}

export function clearLog() {
  localStorage.removeItem(LOG_STORE);
  renderLog();
}

export function renderLog() {
  const list = $('log');
  const log = loadLog();
  list.replaceChildren(
    ...log.map((e) => {
      const li = document.createElement('li');
      const dir = document.createElement('span');
      dir.className = 'dir';
      dir.textContent = e.direction === 'in' ? '↙' : '↗';
      dir.title = e.direction === 'in' ? 'incoming' : 'outgoing';
      const who = document.createElement('span');
      who.textContent = e.peer;
      const dur = document.createElement('span');
      dur.textContent = e.answered ? fmtDuration(e.durationMs) : '';
      const meta = document.createElement('span');
      meta.className = 'meta' + (e.answered ? '' : ' bad');
      meta.textContent = `${new Date(e.at).toLocaleString()} · ${e.result}`;
      li.append(dir, who, dur, meta);
      return li;
    }),
  );
  $('log-empty').hidden = log.length > 0;
}
