// instance-id.js: this browser's +sip.instance id (RFC 5626), a UUID kept
// in localStorage across reloads so the registrar replaces this browser's
// old binding instead of adding one per page load.
const INSTANCE_STORE = 'sipedge.demo.instance';

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function instanceId() {
  let id = localStorage.getItem(INSTANCE_STORE);
  if (!id) {
    id = uuid();
    localStorage.setItem(INSTANCE_STORE, id);
  }
  return id;
}
