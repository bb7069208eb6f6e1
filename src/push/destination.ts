import type { Endpoint } from '../workflows/endpoints.messages';

/** Where an endpoint's deliveries go, as dead letters name it: its URL host, or its queue (neither when it is gone). */
export function destinationOf(endpoint: Endpoint | undefined): { host: string | null; queue: string | null } {
  const url = endpoint?.url;
  return { host: url && URL.canParse(url) ? new URL(url).host : null, queue: endpoint?.queue?.name ?? null };
}
