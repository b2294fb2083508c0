/*
 * Streamlit's custom-component (v1) protocol, spoken directly over postMessage.
 *
 * The page (Streamlit's ComponentInstance) loads index.html in an iframe; we announce
 * ourselves with `streamlit:componentReady` (apiVersion 1), it answers with
 * `streamlit:render` carrying the Python keyword arguments, and we report back with
 * `streamlit:setComponentValue` (the value Python receives) and `streamlit:setFrameHeight`.
 * Every message we send carries `isStreamlitMessage: true`, or Streamlit ignores it.
 */

function send(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, '*');
}

/** Call `onRender(args)` for every render message from the parent page, then say ready. */
export function connect(onRender) {
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent) {
      return;
    }
    const data = event.data;
    if (!data || data.type !== 'streamlit:render') {
      return;
    }
    onRender(data.args || {}, { disabled: !!data.disabled, theme: data.theme });
  });
  send('streamlit:componentReady', { apiVersion: 1 });
}

export function setComponentValue(value) {
  send('streamlit:setComponentValue', { value, dataType: 'json' });
}

let lastHeight = null;

export function setFrameHeight(height) {
  if (height !== lastHeight) {
    lastHeight = height;
    send('streamlit:setFrameHeight', { height });
  }
}
