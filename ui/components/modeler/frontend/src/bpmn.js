/*
 * The BPMN editor component: bpmn-js (modeler, or navigated viewer when read-only) with the
 * properties panel and the SpiffWorkflow extensions, inside a Streamlit v1 component iframe.
 *
 * Arguments (from Python): xml, height, read_only, lint [{element_id, message}],
 * overlays {element_id: {count, avg}}, highlight [element_id].
 * Value (to Python): {event: "save", xml, seq} when the user presses Save (or Ctrl+S);
 * in read-only mode {event: "click", element_id, seq} when an element is clicked.
 */

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './component.css';

import BpmnModeler from 'bpmn-js/lib/Modeler';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import spiffworkflowModdle from './spiffworkflow-moddle.json';
import SpiffPropertiesProviderModule from './spiff-properties.js';
import FlushableDebounceModule, { flushPendingInput } from './debounce.js';
import { connect, setComponentValue, setFrameHeight } from './streamlit.js';
import { button, el, formatBytes } from './dom.js';

const state = {
  viewer: null,
  readOnly: null,
  importedXml: null, // the `xml` argument last imported
  sentXml: null, // the XML we last sent back: Python echoing it needs no re-import
  decorations: null,
  markers: [],
  dirty: false,
  seq: 0,
  lint: [],
  lintCursor: 0,
  importing: Promise.resolve(),
};

const app = document.getElementById('app');
const toolbar = el('div', { class: 'itsm-toolbar' });
const main = el('div', { class: 'itsm-main' });
const canvasBox = el('div', { class: 'itsm-canvas', id: 'canvas' });
const panelBox = el('div', { class: 'itsm-panel', id: 'properties' });
main.append(canvasBox, panelBox);
app.append(toolbar, main);

const status = el('span', { class: 'itsm-status', 'data-testid': 'modeler-status' });
const problems = button('', { class: 'itsm-problems', title: 'Show the next problem on the diagram' });
problems.hidden = true;
const saveButton = button('Save', { class: 'itsm-primary', title: 'Send the diagram to the app (Ctrl+S)' });
const undoButton = button('Undo', { title: 'Undo (Ctrl+Z)' });
const redoButton = button('Redo', { title: 'Redo (Ctrl+Y)' });
const fitButton = button('Fit', { title: 'Fit the whole diagram into view' });
const panelButton = button('Properties', { title: 'Show or hide the properties panel' });

function setStatus(text, kind = '') {
  status.textContent = text;
  status.className = `itsm-status ${kind}`;
}

function markDirty(dirty) {
  state.dirty = dirty;
  if (dirty) {
    setStatus('Unsaved changes', 'itsm-warn');
  }
}

function buildViewer(readOnly) {
  if (state.viewer) {
    state.viewer.destroy();
    panelBox.replaceChildren();
  }
  state.readOnly = readOnly;
  state.decorations = null;
  state.markers = [];
  toolbar.replaceChildren();
  main.classList.toggle('itsm-read-only', readOnly);
  if (readOnly) {
    state.viewer = new NavigatedViewer({
      container: canvasBox,
      moddleExtensions: { spiffworkflow: spiffworkflowModdle },
    });
    toolbar.append(fitButton, problems, status);
    state.viewer.on('element.click', ({ element }) => {
      if (element && element.type !== 'label' && element.parent) {
        state.seq += 1;
        setComponentValue({ event: 'click', element_id: element.id, seq: state.seq });
      }
    });
  } else {
    state.viewer = new BpmnModeler({
      container: canvasBox,
      propertiesPanel: { parent: panelBox },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        SpiffPropertiesProviderModule,
        FlushableDebounceModule,
      ],
      moddleExtensions: { spiffworkflow: spiffworkflowModdle },
    });
    toolbar.append(saveButton, undoButton, redoButton, fitButton, panelButton, problems, status);
    // Typed input is applied to the element it was typed for before the panel moves on
    // to the next one (the panel would otherwise show the previous element again).
    state.viewer.on('selection.changed', 10000, () => {
      try {
        flushPendingInput();
      } catch (error) {
        // Selection changed inside a command (e.g. a delete): the input runs on its timer.
      }
    });
    state.viewer.on('commandStack.changed', () => {
      const commandStack = state.viewer.get('commandStack');
      undoButton.disabled = !commandStack.canUndo();
      redoButton.disabled = !commandStack.canRedo();
      markDirty(true);
    });
  }
  // For tests and debugging: the bpmn-js instance of this frame.
  window.itsmModeler = state.viewer;
}

async function importXml(xml) {
  const viewer = state.viewer;
  try {
    // No XML: a new, empty process (the modeler's own blank diagram).
    const { warnings } = xml.trim() || state.readOnly ? await viewer.importXML(xml) : await viewer.createDiagram();
    state.importedXml = xml;
    initialView(viewer);
    if (!state.readOnly) {
      undoButton.disabled = true;
      redoButton.disabled = true;
    }
    state.dirty = false;
    setStatus(warnings.length ? `Opened with ${warnings.length} import warnings` : 'Opened', warnings.length ? 'itsm-warn' : '');
    if (warnings.length) {
      console.warn('bpmn-js import warnings', warnings);
    }
  } catch (error) {
    state.importedXml = xml;
    setStatus(`Cannot open the diagram: ${error.message}`, 'itsm-error');
    console.error(error);
  }
}

const READABLE_SCALE = 0.7;

/** The whole diagram when it is legible so; else its start, at a legible zoom, for editing. */
function initialView(viewer) {
  const canvas = viewer.get('canvas');
  canvas.zoom('fit-viewport', 'auto');
  const box = canvas.viewbox();
  if (state.readOnly || box.scale >= READABLE_SCALE / 1.4 || !box.inner.width) {
    return;
  }
  const { width, height } = canvas.getSize();
  const palette = canvasBox.querySelector('.djs-palette');
  const left = palette ? palette.getBoundingClientRect().right - canvasBox.getBoundingClientRect().left + 10 : 0;
  canvas.viewbox({
    x: box.inner.x - left / READABLE_SCALE,
    y: box.inner.y - 20 / READABLE_SCALE,
    width: width / READABLE_SCALE,
    height: height / READABLE_SCALE,
  });
}

async function save() {
  if (state.readOnly || !state.viewer) {
    return;
  }
  await state.importing;
  flushPendingInput();
  const directEditing = state.viewer.get('directEditing');
  if (directEditing.isActive()) {
    directEditing.complete();
  }
  try {
    const { xml } = await state.viewer.saveXML({ format: true });
    state.seq += 1;
    state.sentXml = xml;
    state.dirty = false;
    setComponentValue({ event: 'save', xml, seq: state.seq });
    setStatus(`Saved (${formatBytes(xml.length)})`, 'itsm-ok');
  } catch (error) {
    setStatus(`Cannot save: ${error.message}`, 'itsm-error');
  }
}

// --- lint markers, statistics overlays, highlighted path ----------------------------------------

function clearDecorations() {
  const overlays = state.viewer.get('overlays');
  const canvas = state.viewer.get('canvas');
  overlays.remove({ type: 'itsm-lint' });
  overlays.remove({ type: 'itsm-stats' });
  for (const { id, marker } of state.markers) {
    canvas.removeMarker(id, marker);
  }
  state.markers = [];
}

function addMarker(id, marker) {
  state.viewer.get('canvas').addMarker(id, marker);
  state.markers.push({ id, marker });
}

function applyDecorations(args) {
  const lint = Array.isArray(args.lint) ? args.lint : [];
  const stats = args.overlays && typeof args.overlays === 'object' ? args.overlays : {};
  const highlight = Array.isArray(args.highlight) ? args.highlight : [];
  const key = JSON.stringify([lint, stats, highlight]);
  if (key === state.decorations) {
    return;
  }
  state.decorations = key;
  clearDecorations();
  const registry = state.viewer.get('elementRegistry');
  const overlays = state.viewer.get('overlays');

  for (const id of highlight) {
    if (registry.get(id)) {
      addMarker(id, 'itsm-highlight');
    }
  }

  for (const [id, figures] of Object.entries(stats)) {
    const element = registry.get(id);
    if (!element || !figures) {
      continue;
    }
    const box = el('div', { class: 'itsm-stats', 'data-element-id': id });
    if (figures.count !== undefined && figures.count !== null) {
      box.append(el('span', { class: 'itsm-stats-count', title: 'Open tickets waiting here' }, String(figures.count)));
    }
    if (figures.avg) {
      box.append(el('span', { class: 'itsm-stats-avg', title: 'Average time spent here' }, `⌀ ${figures.avg}`));
    }
    overlays.add(id, 'itsm-stats', { position: { top: -14, right: 10 }, html: box });
  }

  const byElement = new Map();
  for (const item of lint) {
    if (!item || !item.message) {
      continue;
    }
    const id = item.element_id;
    if (!byElement.has(id)) {
      byElement.set(id, []);
    }
    byElement.get(id).push(String(item.message));
  }
  state.lint = [];
  for (const [id, messages] of byElement) {
    if (!id || !registry.get(id)) {
      continue;
    }
    state.lint.push(id);
    addMarker(id, 'itsm-lint-error');
    const badge = el('div', { class: 'itsm-lint-badge', title: messages.join('\n'), 'data-element-id': id }, '!');
    const tip = el('div', { class: 'itsm-lint-tooltip' });
    for (const message of messages) {
      tip.append(el('div', {}, message));
    }
    badge.append(tip);
    overlays.add(id, 'itsm-lint', { position: { top: -10, left: -10 }, html: badge });
  }
  const total = lint.filter((item) => item && item.message).length;
  problems.hidden = total === 0;
  problems.textContent = `${total} problem${total === 1 ? '' : 's'}`;
  state.lintCursor = 0;
}

function showNextProblem() {
  if (!state.lint.length) {
    return;
  }
  const id = state.lint[state.lintCursor % state.lint.length];
  state.lintCursor += 1;
  const element = state.viewer.get('elementRegistry').get(id);
  if (element) {
    state.viewer.get('canvas').scrollToElement(element);
    if (!state.readOnly) {
      state.viewer.get('selection').select(element);
    }
  }
}

// --- wiring -------------------------------------------------------------------------------------

saveButton.addEventListener('click', save);
undoButton.addEventListener('click', () => state.viewer.get('commandStack').undo());
redoButton.addEventListener('click', () => state.viewer.get('commandStack').redo());
fitButton.addEventListener('click', () => state.viewer.get('canvas').zoom('fit-viewport', 'auto'));
panelButton.addEventListener('click', () => main.classList.toggle('itsm-panel-hidden'));
problems.addEventListener('click', showNextProblem);
window.addEventListener('resize', () => state.viewer && state.viewer.get('canvas').resized());
document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
    event.preventDefault();
    save();
  }
});

function render(args) {
  const height = Number(args.height) || 700;
  app.style.height = `${height}px`;
  setFrameHeight(height);
  const readOnly = !!args.read_only;
  const xml = typeof args.xml === 'string' ? args.xml : '';
  state.importing = state.importing.then(async () => {
    const rebuilt = state.viewer === null || readOnly !== state.readOnly;
    if (rebuilt) {
      buildViewer(readOnly);
    }
    // The page echoing what we sent is no change; anything else replaces the diagram.
    if (rebuilt || (xml !== state.importedXml && xml !== state.sentXml)) {
      await importXml(xml);
      state.decorations = null;
    } else if (xml === state.sentXml) {
      state.importedXml = xml;
    }
    applyDecorations(args);
  }).catch((error) => {
    // Keep the chain alive: the next render must still run.
    console.error(error);
    setStatus(`Error: ${error.message}`, 'itsm-error');
  });
}

connect(render);
