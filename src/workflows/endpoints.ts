import { condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { catalogNotifier, refuseOverQuota } from './catalog';
import type {
  Endpoint,
  EndpointRef,
  EndpointRegistryInput,
  EndpointTable,
  EventTypeDefinition,
} from './endpoints.messages';
import {
  admitUpdate,
  deliveryOutcomeUpdate,
  endpointTableQuery,
  HEALTHY,
  importUpdate,
  putEndpointUpdate,
  putEventTypeUpdate,
  removeEndpointUpdate,
  removeEventTypeUpdate,
  setEnabledUpdate,
} from './endpoints.messages';
import { ENDPOINT_CATALOG_WORKFLOW_ID } from './ids';
import { RunBudget } from './run-budget';

/**
 * One namespace's webhook endpoints, event types and the circuit breaker of each endpoint, in one
 * long-running workflow (the unpartitioned registry of every namespace, from before, runs the same
 * code without `namespace` until it is migrated). API processes and workers keep copies and
 * re-read it when its version moves, which the catalog tells them. Writes past the namespace's
 * quotas are rejected by validators, so they never enter history. Time here is workflow time, so
 * pauses behave the same under the time-skipping test server.
 */
export async function EndpointRegistryWorkflow({ policy, table, namespace, quotas }: EndpointRegistryInput): Promise<void> {
  const endpoints = new Map(table.endpoints.map((e) => [`${e.namespace}/${e.id}`, e]));
  const eventTypes = new Map((table.eventTypes ?? []).map((t) => [`${t.namespace}/${t.name}`, t]));
  let version = table.version;
  const budget = new RunBudget();
  const notifyCatalog = catalogNotifier(ENDPOINT_CATALOG_WORKFLOW_ID, namespace);
  const moved = () => {
    version++;
    notifyCatalog?.(version);
    return version;
  };
  const changed = () => {
    budget.countUpdate();
    return moved();
  };
  const find = ({ namespace, id }: EndpointRef) => endpoints.get(`${namespace}/${id}`);
  const snapshot = (): EndpointTable => ({ version, endpoints: [...endpoints.values()], eventTypes: [...eventTypes.values()] });

  /** Rejects a write that would take the namespace past a quota. */
  const withinQuotas = (change: { endpoint?: Endpoint; eventType?: EventTypeDefinition }) => {
    if (!quotas) return;
    const { endpoint, eventType } = change;
    if (endpoint && !endpoints.has(`${endpoint.namespace}/${endpoint.id}`) && endpoints.size >= quotas.maxEndpoints) {
      refuseOverQuota(`a namespace has at most ${quotas.maxEndpoints} endpoints`);
    }
    if (eventType && !eventTypes.has(`${eventType.namespace}/${eventType.name}`) && eventTypes.size >= quotas.maxEventTypes) {
      refuseOverQuota(`a namespace has at most ${quotas.maxEventTypes} event types`);
    }
    const after = new Map(endpoints);
    if (endpoint) after.set(`${endpoint.namespace}/${endpoint.id}`, endpoint);
    const typesAfter = new Map(eventTypes);
    if (eventType) typesAfter.set(`${eventType.namespace}/${eventType.name}`, eventType);
    const bytes = JSON.stringify([...after.values()]).length + JSON.stringify([...typesAfter.values()]).length;
    if (bytes > quotas.maxTableBytes) refuseOverQuota(`a namespace's endpoints and event types take at most ${quotas.maxTableBytes} bytes as JSON (this write would make ${bytes})`);
  };

  setHandler(endpointTableQuery, ({ knownVersion }) => (knownVersion === version ? null : snapshot()));
  setHandler(
    putEndpointUpdate,
    (endpoint) => {
      endpoints.set(`${endpoint.namespace}/${endpoint.id}`, endpoint);
      return changed();
    },
    { validator: (endpoint: Endpoint) => withinQuotas({ endpoint }) },
  );
  setHandler(
    putEventTypeUpdate,
    (eventType) => {
      eventTypes.set(`${eventType.namespace}/${eventType.name}`, eventType);
      return changed();
    },
    { validator: (eventType: EventTypeDefinition) => withinQuotas({ eventType }) },
  );
  setHandler(importUpdate, (imported) => {
    for (const e of imported.endpoints) if (!endpoints.has(`${e.namespace}/${e.id}`)) endpoints.set(`${e.namespace}/${e.id}`, e);
    for (const t of imported.eventTypes) if (!eventTypes.has(`${t.namespace}/${t.name}`)) eventTypes.set(`${t.namespace}/${t.name}`, t);
    return changed();
  });
  setHandler(removeEventTypeUpdate, ({ namespace, name }) => {
    eventTypes.delete(`${namespace}/${name}`);
    return changed();
  });
  setHandler(removeEndpointUpdate, ({ namespace, id }) => {
    endpoints.delete(`${namespace}/${id}`);
    return changed();
  });
  setHandler(setEnabledUpdate, (request) => {
    const endpoint = find(request);
    if (!endpoint) return { endpoint: null, version };
    endpoint.enabled = request.enabled;
    endpoint.disabledReason = request.enabled ? null : request.reason;
    // Enabling starts with a clean slate; the failures that disabled it are history.
    if (request.enabled) endpoint.health = { ...HEALTHY };
    endpoint.updatedAt = Date.now();
    return { endpoint, version: changed() };
  });
  setHandler(admitUpdate, (ref) => {
    budget.countUpdate();
    const health = find(ref)?.health;
    if (!health || health.state !== 'paused') return { go: true };
    const now = Date.now();
    if (health.pausedUntil !== null && now < health.pausedUntil) return { go: false, until: health.pausedUntil };
    if (health.probeUntil !== null && now < health.probeUntil) return { go: false, until: health.probeUntil };
    // This caller probes; if it never reports back, another one may after the window.
    health.probeUntil = now + policy.pauseMs;
    moved();
    return { go: true };
  });
  setHandler(deliveryOutcomeUpdate, ({ ok, error, ...ref }) => {
    const endpoint = find(ref);
    if (!endpoint) return null;
    changed();
    if (ok) {
      endpoint.health = { ...HEALTHY };
      return endpoint;
    }
    const now = Date.now();
    const health = endpoint.health;
    health.consecutiveFailures++;
    health.failingSince ??= now;
    health.lastError = error ?? null;
    if (health.state === 'paused' || health.consecutiveFailures >= policy.failuresToPause) {
      health.state = 'paused';
      health.pausedUntil = now + policy.pauseMs;
      health.probeUntil = null;
    } else {
      health.state = 'failing';
    }
    if (endpoint.enabled && now - health.failingSince >= policy.disableAfterMs) {
      endpoint.enabled = false;
      endpoint.disabledReason = `every attempt failed since ${new Date(health.failingSince).toISOString()}`;
    }
    return endpoint;
  });

  await condition(() => budget.exhausted);
  await budget.wrapUp();
  await continueAsNew<typeof EndpointRegistryWorkflow>({ policy, table: snapshot(), namespace, quotas });
}
