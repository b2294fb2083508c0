/*
 * Properties-panel groups for what the engine (SpiffWorkflow) reads from a model:
 *
 *   user task           spiffworkflow:properties / spiffworkflow:property name=… value=…
 *                       (formJsonSchemaFilename, candidate_group, assign_to, ticket_status,
 *                       support_line, and any other property as a name/value list)
 *   service task        spiffworkflow:serviceTaskOperator id=… resultVariable=…
 *                       with spiffworkflow:parameters / spiffworkflow:parameter id type value
 *   business rule task  spiffworkflow:calledDecisionId
 *   sequence flow       bpmn:conditionExpression (Python, evaluated by the engine)
 *
 * Timers (timeDate / timeDuration / timeCycle) come from bpmn-js-properties-panel's own BPMN
 * provider. Every change is one command on the modeler's command stack (undo works) and only
 * touches the extension element it edits, so whatever else a model carries survives a save.
 */

import {
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited,
  Group,
  ListGroup,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export const USER_TASK_PROPERTIES = [
  {
    name: 'formJsonSchemaFilename',
    label: 'Form (JSON schema file)',
    description: 'A file in bpmn/forms/, e.g. l1_triage.schema.json',
  },
  {
    name: 'candidate_group',
    label: 'Candidate group',
    description: 'Who may claim the task: L1, L2, L3, coordinator, requester, field, …',
  },
  {
    name: 'assign_to',
    label: 'Assign to (expression)',
    description: "Python expression naming the assignee, e.g. assignment['username']",
  },
  {
    name: 'ticket_status',
    label: 'Ticket status',
    description: 'The status the ticket shows while the task waits',
  },
  {
    name: 'support_line',
    label: 'Support line',
    description: 'L1, L2 or L3: counts the escalation level',
  },
];
const KNOWN = new Set(USER_TASK_PROPERTIES.map((each) => each.name));

const PARAMETER_TYPES = ['str', 'int', 'float', 'bool', 'dict', 'list', 'any'];

// --- moddle helpers -------------------------------------------------------------------------

function extensionValues(bo) {
  const extensionElements = bo.get('extensionElements');
  return extensionElements ? extensionElements.get('values') : [];
}

function findExtension(bo, type) {
  return extensionValues(bo).find((value) => is(value, type));
}

function create(bpmnFactory, type, attrs, parent) {
  const element = bpmnFactory.create(type, attrs);
  element.$parent = parent;
  return element;
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function run(commandStack, commands) {
  if (commands.length) {
    commandStack.execute('properties-panel.multi-command-executor', commands);
  }
}

/** The extension of `type`, created (with bpmn:extensionElements) when missing. */
function ensureExtension(element, bpmnFactory, commands, type, attrs) {
  const bo = getBusinessObject(element);
  let extensionElements = bo.get('extensionElements');
  if (!extensionElements) {
    extensionElements = create(bpmnFactory, 'bpmn:ExtensionElements', { values: [] }, bo);
    commands.push(update(element, bo, { extensionElements }));
  }
  let extension = extensionElements.get('values').find((value) => is(value, type));
  if (!extension) {
    extension = create(bpmnFactory, type, attrs, extensionElements);
    commands.push(
      update(element, extensionElements, { values: [...extensionElements.get('values'), extension] })
    );
  }
  return extension;
}

/** Remove `extension` and, when it was the last one, the empty bpmn:extensionElements. */
function removeExtension(element, commands, extension) {
  const bo = getBusinessObject(element);
  const extensionElements = bo.get('extensionElements');
  const values = extensionElements.get('values').filter((value) => value !== extension);
  commands.push(update(element, extensionElements, { values }));
  if (!values.length) {
    commands.push(update(element, bo, { extensionElements: undefined }));
  }
}

// --- user task: spiffworkflow:properties ------------------------------------------------------

function spiffProperties(element) {
  return findExtension(getBusinessObject(element), 'spiffworkflow:Properties');
}

function propertyList(element) {
  const properties = spiffProperties(element);
  return properties ? properties.get('properties') : [];
}

function getProperty(element, name) {
  return propertyList(element).find((property) => property.get('name') === name);
}

function setNamedProperty(injector, element, name, value) {
  const bpmnFactory = injector.get('bpmnFactory');
  const commands = [];
  const existing = getProperty(element, name);
  if (!value) {
    if (existing) {
      removeProperty(element, commands, existing);
    }
  } else if (existing) {
    commands.push(update(element, existing, { value }));
  } else {
    const properties = ensureExtension(element, bpmnFactory, commands, 'spiffworkflow:Properties', {
      properties: [],
    });
    const property = create(bpmnFactory, 'spiffworkflow:Property', { name, value }, properties);
    commands.push(update(element, properties, { properties: [...properties.get('properties'), property] }));
  }
  run(injector.get('commandStack'), commands);
}

function removeProperty(element, commands, property) {
  const properties = property.$parent;
  const remaining = properties.get('properties').filter((each) => each !== property);
  commands.push(update(element, properties, { properties: remaining }));
  if (!remaining.length) {
    removeExtension(element, commands, properties);
  }
}

function NamedPropertyEntry(props) {
  const { element, id, name, label, description } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return TextFieldEntry({
    element,
    id,
    label,
    description,
    debounce,
    getValue: () => {
      const property = getProperty(element, name);
      return (property && property.get('value')) || '';
    },
    setValue: (value) => setNamedProperty(injector, element, name, (value || '').trim()),
  });
}

function OtherPropertyField(props) {
  const { element, id, property, field, label } = props;
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  return TextFieldEntry({
    element,
    id,
    label,
    debounce,
    getValue: () => property.get(field) || '',
    setValue: (value) => run(commandStack, [update(element, property, { [field]: value || '' })]),
  });
}

function userTaskGroups(element, injector) {
  const entries = USER_TASK_PROPERTIES.map((each) => ({
    id: `spiff-property-${each.name}`,
    component: NamedPropertyEntry,
    isEdited: isTextFieldEntryEdited,
    ...each,
  }));
  const others = propertyList(element).filter((property) => !KNOWN.has(property.get('name')));
  const commandStack = injector.get('commandStack');
  const bpmnFactory = injector.get('bpmnFactory');
  const items = others.map((property, index) => {
    const id = `${element.id}-spiff-other-property-${index}`;
    return {
      id,
      label: property.get('name') || '',
      entries: [
        { id: `${id}-name`, component: OtherPropertyField, property, field: 'name', label: 'Name' },
        { id: `${id}-value`, component: OtherPropertyField, property, field: 'value', label: 'Value' },
      ],
      autoFocusEntry: `${id}-name`,
      remove: (event) => {
        event.stopPropagation();
        const commands = [];
        removeProperty(element, commands, property);
        run(commandStack, commands);
      },
    };
  });
  return [
    {
      id: 'spiff-user-task',
      label: 'Engine: user task',
      component: Group,
      entries,
      shouldOpen: true,
    },
    {
      id: 'spiff-other-properties',
      label: 'Engine: other task properties',
      component: ListGroup,
      items,
      add: (event) => {
        event.stopPropagation();
        const commands = [];
        const properties = ensureExtension(element, bpmnFactory, commands, 'spiffworkflow:Properties', {
          properties: [],
        });
        // SpiffWorkflow reads both attributes of every property: never leave one out.
        const property = create(
          bpmnFactory,
          'spiffworkflow:Property',
          { name: `property_${propertyList(element).length + 1}`, value: '' },
          properties
        );
        commands.push(update(element, properties, { properties: [...properties.get('properties'), property] }));
        run(commandStack, commands);
      },
    },
  ];
}

// --- service task: spiffworkflow:serviceTaskOperator -----------------------------------------

function getOperator(element) {
  return findExtension(getBusinessObject(element), 'spiffworkflow:ServiceTaskOperator');
}

/** The operator with its (mandatory, per SpiffWorkflow's schema) parameters element. */
function ensureOperator(element, bpmnFactory, commands) {
  const operator = ensureExtension(element, bpmnFactory, commands, 'spiffworkflow:ServiceTaskOperator', {
    id: '',
  });
  let parameters = operator.get('parameterList');
  if (!parameters) {
    parameters = create(bpmnFactory, 'spiffworkflow:Parameters', { parameters: [] }, operator);
    commands.push(update(element, operator, { parameterList: parameters }));
  }
  return { operator, parameters };
}

function OperatorField(props) {
  const { element, id, field, label, description } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return TextFieldEntry({
    element,
    id,
    label,
    description,
    debounce,
    getValue: () => {
      const operator = getOperator(element);
      return (operator && operator.get(field)) || '';
    },
    setValue: (raw) => {
      const value = (raw || '').trim();
      const commands = [];
      const existing = getOperator(element);
      if (!value && !existing) {
        return;
      }
      const { operator } = ensureOperator(element, injector.get('bpmnFactory'), commands);
      if (field === 'resultVariable' && !value) {
        commands.push(update(element, operator, { resultVariable: undefined }));
      } else {
        commands.push(update(element, operator, { [field]: value }));
      }
      run(injector.get('commandStack'), commands);
    },
  });
}

function ParameterField(props) {
  const { element, id, parameter, field, label } = props;
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  if (field === 'type') {
    return SelectEntry({
      element,
      id,
      label,
      getValue: () => parameter.get('type') || 'str',
      setValue: (value) => run(commandStack, [update(element, parameter, { type: value })]),
      getOptions: () => {
        const current = parameter.get('type');
        const types = current && !PARAMETER_TYPES.includes(current) ? [current, ...PARAMETER_TYPES] : PARAMETER_TYPES;
        return types.map((type) => ({ value: type, label: type }));
      },
    });
  }
  return TextFieldEntry({
    element,
    id,
    label,
    debounce,
    description: field === 'value' ? "Python expression, e.g. ticket_id or 'L1'" : undefined,
    getValue: () => parameter.get(field) || '',
    setValue: (value) => run(commandStack, [update(element, parameter, { [field]: value || '' })]),
  });
}

function serviceTaskGroups(element, injector) {
  const commandStack = injector.get('commandStack');
  const bpmnFactory = injector.get('bpmnFactory');
  const operator = getOperator(element);
  const parameterList = operator && operator.get('parameterList');
  const parameters = parameterList ? parameterList.get('parameters') : [];
  const items = parameters.map((parameter, index) => {
    const id = `${element.id}-spiff-parameter-${index}`;
    return {
      id,
      label: `${parameter.get('id') || '?'} = ${parameter.get('value') || ''}`,
      entries: [
        { id: `${id}-id`, component: ParameterField, parameter, field: 'id', label: 'Name' },
        { id: `${id}-type`, component: ParameterField, parameter, field: 'type', label: 'Type', isEdited: isSelectEntryEdited },
        { id: `${id}-value`, component: ParameterField, parameter, field: 'value', label: 'Value' },
      ],
      autoFocusEntry: `${id}-id`,
      remove: (event) => {
        event.stopPropagation();
        const remaining = parameterList.get('parameters').filter((each) => each !== parameter);
        run(commandStack, [update(element, parameterList, { parameters: remaining })]);
      },
    };
  });
  return [
    {
      id: 'spiff-service-task',
      label: 'Engine: service task',
      component: Group,
      shouldOpen: true,
      entries: [
        {
          id: 'spiff-operator-id',
          component: OperatorField,
          field: 'id',
          label: 'Operation',
          description: 'A function registered in tasks/, e.g. notify',
          isEdited: isTextFieldEntryEdited,
        },
        {
          id: 'spiff-operator-result',
          component: OperatorField,
          field: 'resultVariable',
          label: 'Result variable',
          isEdited: isTextFieldEntryEdited,
        },
      ],
    },
    {
      id: 'spiff-service-parameters',
      label: 'Engine: operation parameters',
      component: ListGroup,
      items,
      shouldOpen: true,
      add: (event) => {
        event.stopPropagation();
        const commands = [];
        const { parameters: list } = ensureOperator(element, bpmnFactory, commands);
        const parameter = create(
          bpmnFactory,
          'spiffworkflow:Parameter',
          { id: `param_${list.get('parameters').length + 1}`, type: 'str', value: 'None' },
          list
        );
        commands.push(update(element, list, { parameters: [...list.get('parameters'), parameter] }));
        run(commandStack, commands);
      },
    },
  ];
}

// --- business rule task: spiffworkflow:calledDecisionId ---------------------------------------

function DecisionEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return TextFieldEntry({
    element,
    id,
    label: 'Decision ID',
    description: 'The id of a decision in a DMN file, e.g. priority_matrix',
    debounce,
    getValue: () => {
      const called = findExtension(getBusinessObject(element), 'spiffworkflow:CalledDecisionId');
      return (called && called.get('value')) || '';
    },
    setValue: (raw) => {
      const value = (raw || '').trim();
      const commands = [];
      const existing = findExtension(getBusinessObject(element), 'spiffworkflow:CalledDecisionId');
      if (!value) {
        if (existing) {
          removeExtension(element, commands, existing);
        }
      } else if (existing) {
        commands.push(update(element, existing, { value }));
      } else {
        ensureExtension(element, injector.get('bpmnFactory'), commands, 'spiffworkflow:CalledDecisionId', {
          value,
        });
      }
      run(injector.get('commandStack'), commands);
    },
  });
}

// --- sequence flow: bpmn:conditionExpression ----------------------------------------------------

function isDefaultFlow(element) {
  const source = element.source && getBusinessObject(element.source);
  return !!(source && source.get('default') === getBusinessObject(element));
}

function ConditionEntry(props) {
  const { element, id } = props;
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const isDefault = isDefaultFlow(element);
  return TextAreaEntry({
    element,
    id,
    label: 'Condition (Python expression)',
    description: isDefault
      ? 'This is the default flow: it is taken when no other condition holds.'
      : "e.g. l1_outcome == 'resolved'",
    debounce,
    rows: 2,
    monospace: true,
    getValue: () => {
      const expression = getBusinessObject(element).get('conditionExpression');
      return (expression && expression.get('body')) || '';
    },
    setValue: (raw) => {
      const value = (raw || '').trim();
      const bo = getBusinessObject(element);
      const expression = bo.get('conditionExpression');
      if (!value) {
        commandStack.execute('element.updateProperties', {
          element,
          properties: { conditionExpression: undefined },
        });
      } else if (expression) {
        commandStack.execute('element.updateModdleProperties', {
          element,
          moddleElement: expression,
          properties: { body: value },
        });
      } else {
        const conditionExpression = create(bpmnFactory, 'bpmn:FormalExpression', { body: value }, bo);
        commandStack.execute('element.updateProperties', { element, properties: { conditionExpression } });
      }
    },
  });
}

function hasConditions(element) {
  if (!is(element, 'bpmn:SequenceFlow')) {
    return false;
  }
  const source = element.source;
  return (
    (source && (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway'))) ||
    !!getBusinessObject(element).get('conditionExpression')
  );
}

// --- the provider ---------------------------------------------------------------------------

export function spiffGroups(element, injector) {
  if (is(element, 'bpmn:UserTask')) {
    return userTaskGroups(element, injector);
  }
  if (is(element, 'bpmn:ServiceTask')) {
    return serviceTaskGroups(element, injector);
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    return [
      {
        id: 'spiff-business-rule',
        label: 'Engine: decision',
        component: Group,
        shouldOpen: true,
        entries: [{ id: 'spiff-called-decision', component: DecisionEntry, isEdited: isTextFieldEntryEdited }],
      },
    ];
  }
  if (hasConditions(element)) {
    return [
      {
        id: 'spiff-condition',
        label: 'Condition',
        component: Group,
        shouldOpen: true,
        entries: [{ id: 'spiff-condition-expression', component: ConditionEntry, isEdited: isTextAreaEntryEdited }],
      },
    ];
  }
  return [];
}

class SpiffPropertiesProvider {
  constructor(propertiesPanel, injector) {
    // Lower priority than the BPMN provider (1000): we see its groups and slot ours in.
    propertiesPanel.registerProvider(500, this);
    this._injector = injector;
  }

  getGroups(element) {
    return (groups) => {
      const ours = spiffGroups(element, this._injector);
      const general = groups.findIndex((group) => group.id === 'general');
      groups.splice(general + 1, 0, ...ours);
      return groups;
    };
  }
}
SpiffPropertiesProvider.$inject = ['propertiesPanel', 'injector'];

export default {
  __init__: ['spiffPropertiesProvider'],
  spiffPropertiesProvider: ['type', SpiffPropertiesProvider],
};
