// settings-form.js: the Account form (#settings): shows settings in it and
// reads them back.
import { $ } from './dom.js';
import { defaults, loadSettings } from './settings.js';

const form = $('settings');

export function fillForm(s) {
  for (const [k, v] of Object.entries(s)) {
    const el = form.elements.namedItem(k);
    if (!el) continue;
    if (el.type === 'checkbox') el.checked = !!v;
    else el.value = v;
  }
}

export function readForm() {
  const s = loadSettings();
  for (const k of Object.keys(defaults())) {
    const el = form.elements.namedItem(k);
    if (!el) continue;
    s[k] = el.type === 'checkbox' ? el.checked : el.value.trim();
  }
  return s;
}
