/** Tiny DOM helpers: text goes in as text nodes, never as HTML. */

export function el(tag, attrs = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function button(text, attrs = {}) {
  return el('button', { type: 'button', class: '', ...attrs }, text);
}

export function formatBytes(count) {
  return count < 1024 ? `${count} B` : `${(count / 1024).toFixed(1)} KB`;
}
