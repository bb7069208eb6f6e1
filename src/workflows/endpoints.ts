import { condition, continueAsNew, setHandler } from '@temporalio/workflow';
import type { Endpoint, EndpointHealth, EndpointKey, EndpointRegistryInput, EndpointRef, EndpointSettings } from './endpoints.messages';
import {
  admitUpdate,
  deliveryOutcomeUpdate,
  endpointTableQuery,
  putEndpointUpdate,
  putEventTypeUpdate,
  removeEndpointUpdate,
  removeEventTypeUpdate,
  setEnabledUpdate,
} from './endpoints.messages';
import { RunBudget } from './run-budget';

export const HEALTHY: EndpointHealth = {
  state: 'healthy',
  consecutiveFailures: 0,
  failingSince: null,
  pausedUntil: null,
  probeUntil: null,
  lastError: null,
};

/** A new endpoint: enabled, healthy, signing with one key. */
export const newEndpoint = (ref: EndpointRef, settings: EndpointSettings, secret: EndpointKey['secret'], now: number): Endpoint => ({
  ...settings,
  ...ref,
  keys: [{ secret }],
  enabled: true,
  disabledReason: null,
  createdAt: now,
  updatedAt: now,
  health: { ...HEALTHY },
});

/**
 * Every namespace's webhook endpoints and the circuit breaker of each, in one long-running workflow
 * (like the token registry): API processes and workers keep copies and re-read it when its version
 * moves. Time here is workflow time, so pauses behave the same under the time-skipping test server.
 */
export async function EndpointRegistryWorkflow({ policy, table }: EndpointRegistryInput): Promise<void> {
  const endpoints = new Map(table.endpoints.map((e) => [`${e.namespace}/${e.id}`, e]));
  const eventTypes = new Map((table.eventTypes ?? []).map((t) => [`${t.namespace}/${t.name}`, t]));
  let version = table.version;
  const budget = new RunBudget();
  const changed = () => {
    budget.countUpdate();
    version++;
    return version;
  };
  const find = ({ namespace, id }: EndpointRef) => endpoints.get(`${namespace}/${id}`);

  setHandler(endpointTableQuery, ({ knownVersion }) =>
    knownVersion === version ? null : { version, endpoints: [...endpoints.values()], eventTypes: [...eventTypes.values()] },
  );
  setHandler(putEndpointUpdate, (endpoint) => {
    endpoints.set(`${endpoint.namespace}/${endpoint.id}`, endpoint);
    return changed();
  });
  setHandler(putEventTypeUpdate, (eventType) => {
    eventTypes.set(`${eventType.namespace}/${eventType.name}`, eventType);
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
    version++;
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
  await continueAsNew<typeof EndpointRegistryWorkflow>({ policy, table: { version, endpoints: [...endpoints.values()], eventTypes: [...eventTypes.values()] } });
}

