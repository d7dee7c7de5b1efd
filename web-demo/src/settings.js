// settings.js: the account settings: their defaults and their copy in
// localStorage.
const STORE = 'sipedge.demo.settings';

export function defaults() {
  return {
    wsUrl: `wss://${location.host}/ws`,
    user: '',
    password: '',
    domain: location.hostname,
    displayName: '',
    stunUrl: '',
    voiceProcessing: true,
  };
}

export function loadSettings() {
  try {
    return { ...defaults(), ...JSON.parse(localStorage.getItem(STORE) || '{}') };
  } catch {
    return defaults();
  }
}

export function saveSettings(s) {
  localStorage.setItem(STORE, JSON.stringify(s));
}

// hasSavedSettings reports whether this browser saved settings before.
export function hasSavedSettings() {
  return !!localStorage.getItem(STORE);
}
