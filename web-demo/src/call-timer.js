// call-timer.js: the call timer on the call bar (mm:ss since the call was
// answered) and the mm:ss format the call log shares.
import { $ } from './dom.js';

let callStart = 0;
let timerId = 0;

export function fmtDuration(ms) {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function startTimer() {
  callStart = Date.now();
  clearInterval(timerId);
  timerId = setInterval(() => {
    $('call-timer').textContent = fmtDuration(Date.now() - callStart);
  }, 500);
}

export function stopTimer() {
  clearInterval(timerId);
  timerId = 0;
}

// elapsedMs returns the time since the timer last started.
export function elapsedMs() {
  return Date.now() - callStart;
}
