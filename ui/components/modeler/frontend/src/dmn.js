/*
 * The DMN editor component: dmn-js (decision tables, literal expressions, the DRD) inside a
 * Streamlit v1 component iframe.
 *
 * Arguments (from Python): xml, height. Value (to Python): {event: "save", xml, seq} when the
 * user presses Save (or Ctrl+S).
 */

import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import './component.css';

import DmnModeler from 'dmn-js/lib/Modeler';

import FlushableDebounceModule, { flushPendingInput } from './debounce.js';
import { connect, setComponentValue, setFrameHeight } from './streamlit.js';
import { button, el, formatBytes } from './dom.js';

const app = document.getElementById('app');
const toolbar = el('div', { class: 'itsm-toolbar' });
const views = el('span', { class: 'itsm-views' });
const container = el('div', { class: 'itsm-dmn', id: 'dmn' });
const status = el('span', { class: 'itsm-status', 'data-testid': 'modeler-status' });
const saveButton = button('Save', { class: 'itsm-primary', title: 'Send the decisions to the app (Ctrl+S)' });
const undoButton = button('Undo', { title: 'Undo (Ctrl+Z)' });
const redoButton = button('Redo', { title: 'Redo (Ctrl+Y)' });
toolbar.append(saveButton, undoButton, redoButton, views, status);
app.append(toolbar, container);

const withFlushableInput = { additionalModules: [FlushableDebounceModule] };
const modeler = new DmnModeler({
  container,
  drd: withFlushableInput,
  decisionTable: withFlushableInput,
  literalExpression: withFlushableInput,
  boxedExpression: withFlushableInput,
});
window.itsmModeler = modeler;

const state = { importedXml: null, sentXml: null, seq: 0, importing: Promise.resolve() };

function setStatus(text, kind = '') {
  status.textContent = text;
  status.className = `itsm-status ${kind}`;
}

function activeCommandStack() {
  const viewer = modeler.getActiveViewer();
  return viewer ? viewer.get('commandStack') : null;
}

function refreshUndo() {
  const commandStack = activeCommandStack();
  undoButton.disabled = !(commandStack && commandStack.canUndo());
  redoButton.disabled = !(commandStack && commandStack.canRedo());
}

const watched = new WeakSet();

function viewLabel(view) {
  const name = view.element.name || view.element.id;
  return view.type === 'drd' ? 'Diagram (DRD)' : name;
}

modeler.on('views.changed', ({ views: all, activeView }) => {
  const viewer = modeler.getActiveViewer();
  if (viewer && !watched.has(viewer)) {
    watched.add(viewer);
    viewer.get('eventBus').on('commandStack.changed', () => {
      refreshUndo();
      setStatus('Unsaved changes', 'itsm-warn');
    });
  }
  views.replaceChildren(
    ...all.map((view) => {
      const tab = button(viewLabel(view), { 'data-view': view.element.id, title: `Open ${view.type}` });
      if (activeView && view.element === activeView.element) {
        tab.classList.add('itsm-active');
      }
      tab.addEventListener('click', () => modeler.open(view));
      return tab;
    })
  );
  refreshUndo();
});

async function importXml(xml) {
  try {
    const { warnings } = await modeler.importXML(xml);
    state.importedXml = xml;
    const table = modeler.getViews().find((view) => view.type === 'decisionTable');
    if (table) {
      await modeler.open(table);
    }
    setStatus(warnings.length ? `Opened with ${warnings.length} import warnings` : 'Opened', warnings.length ? 'itsm-warn' : '');
    if (warnings.length) {
      console.warn('dmn-js import warnings', warnings);
    }
  } catch (error) {
    state.importedXml = xml;
    setStatus(`Cannot open the decisions: ${error.message}`, 'itsm-error');
    console.error(error);
  }
}

async function save() {
  await state.importing;
  // A cell being edited commits on blur; then any delayed input runs now.
  if (document.activeElement && document.activeElement !== document.body) {
    document.activeElement.blur();
  }
  flushPendingInput();
  try {
    const { xml } = await modeler.saveXML({ format: true });
    state.seq += 1;
    state.sentXml = xml;
    setComponentValue({ event: 'save', xml, seq: state.seq });
    setStatus(`Saved (${formatBytes(xml.length)})`, 'itsm-ok');
  } catch (error) {
    setStatus(`Cannot save: ${error.message}`, 'itsm-error');
  }
}

saveButton.addEventListener('mousedown', (event) => event.preventDefault());
saveButton.addEventListener('click', save);
undoButton.addEventListener('click', () => activeCommandStack() && activeCommandStack().undo());
redoButton.addEventListener('click', () => activeCommandStack() && activeCommandStack().redo());
document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
    event.preventDefault();
    save();
  }
});

connect((args) => {
  const height = Number(args.height) || 500;
  app.style.height = `${height}px`;
  setFrameHeight(height);
  const xml = typeof args.xml === 'string' ? args.xml : '';
  state.importing = state.importing.then(async () => {
    if (xml === state.sentXml) {
      state.importedXml = xml;
    } else if (xml !== state.importedXml) {
      await importXml(xml);
    }
  }).catch((error) => {
    // Keep the chain alive: the next render must still run.
    console.error(error);
    setStatus(`Error: ${error.message}`, 'itsm-error');
  });
});
