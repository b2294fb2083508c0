/*
 * The properties panel delays each keystroke's command (debounced input). Saving must not
 * lose the last one: this replaces the panel's `debounceInput` service with one whose pending
 * calls can all be run at once (`flushPendingInput()`), which the Save button does first.
 */

import { debounce } from 'min-dash';

const DELAY_MS = 300;
const pending = new Set();

function debounceInput() {
  return function makeDebounced(fn) {
    const debounced = debounce((...args) => {
      pending.delete(debounced);
      fn(...args);
    }, DELAY_MS);
    const call = (...args) => {
      pending.add(debounced);
      debounced(...args);
    };
    call.flush = () => debounced.flush();
    call.cancel = () => {
      pending.delete(debounced);
      debounced.cancel();
    };
    return call;
  };
}

/** Run every delayed input now (min-dash's flush does nothing when nothing waits). */
export function flushPendingInput() {
  for (const each of [...pending]) {
    pending.delete(each);
    each.flush();
  }
}

export default {
  debounceInput: ['factory', debounceInput],
};
