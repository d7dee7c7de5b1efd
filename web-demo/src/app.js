// app.js: the sipedge demo softphone's entry point (JsSIP over WebSocket to
// sipedge, media through rtpengine). It only wires the modules to the page
// and starts them; each module's header says its job. Bundled by build.mjs
// (esbuild) into dist/app.js.
import { $ } from './dom.js';
import { loadSettings, saveSettings, hasSavedSettings } from './settings.js';
import { instanceId } from './instance-id.js';
import { fillForm, readForm } from './settings-form.js';
import { render } from './render.js';
import { clearMessage } from './messages.js';
import { renderLog, clearLog } from './call-log.js';
import { startMeters } from './meters.js';
import { call, answer, reject, hangup, toggleMute, toggleHold } from './call-control.js';
import { pressKey, backspace } from './dial-pad.js';
import { startUA, unregister, stopForUnload } from './user-agent.js';
import { exposeTestHook } from './test-hook.js';

$('settings').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const s = readForm();
  saveSettings(s);
  clearMessage();
  startUA(s);
});
$('unregister').addEventListener('click', unregister);
$('message-close').addEventListener('click', clearMessage);
$('log-clear').addEventListener('click', clearLog);

for (const b of document.querySelectorAll('.pad button')) {
  b.addEventListener('click', () => pressKey(b.dataset.key));
}
$('backspace').addEventListener('click', backspace);
$('number').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') call();
});
$('call').addEventListener('click', call);
$('hangup').addEventListener('click', hangup);
$('answer').addEventListener('click', answer);
$('reject').addEventListener('click', reject);
$('mute').addEventListener('click', toggleMute);
$('hold').addEventListener('click', toggleHold);
window.addEventListener('beforeunload', stopForUnload);

exposeTestHook();
startMeters();

const initial = loadSettings();
fillForm(initial);
$('instance-id').textContent = instanceId();
renderLog();
render();
if (initial.user && initial.wsUrl && hasSavedSettings()) startUA(initial);
