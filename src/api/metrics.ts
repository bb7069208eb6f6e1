import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CodecWork } from '../temporal/payload-codec';

/** Queue metrics as seen by this API process; Prometheus sums them across processes. */
export class QueueMetrics {
  readonly registry = new Registry();
  private readonly publishedTotal = new Counter({
    name: 'ferry_jobs_published_total',
    help: 'Jobs published',
    labelNames: ['namespace', 'queue'],
    registers: [this.registry],
  });
  private readonly consumedTotal = new Counter({
    name: 'ferry_jobs_consumed_total',
    help: 'Jobs handed to consumers',
    labelNames: ['namespace', 'queue'],
    registers: [this.registry],
  });
  private readonly ackedTotal = new Counter({
    name: 'ferry_jobs_acked_total',
    help: 'Jobs acked (deleted) by consumers',
    labelNames: ['namespace', 'queue'],
    registers: [this.registry],
  });
  private readonly activeConsumers = new Gauge({
    name: 'ferry_active_consumers',
    help: 'Consume requests in progress, long polls included',
    labelNames: ['namespace', 'queue'],
    registers: [this.registry],
  });

  private readonly eventsPublishedTotal = new Counter({
    name: 'ferry_push_events_published_total',
    help: 'Events accepted for push (replays of an id not counted)',
    labelNames: ['namespace'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ferry_api_' });
  }

  published(namespace: string, queue: string, count: number): void {
    this.publishedTotal.inc({ namespace, queue }, count);
  }

  consumed(namespace: string, queue: string): void {
    this.consumedTotal.inc({ namespace, queue });
  }

  acked(namespace: string, queue: string): void {
    this.ackedTotal.inc({ namespace, queue });
  }

  eventsPublished(namespace: string, count: number): void {
    this.eventsPublishedTotal.inc({ namespace }, count);
  }

  /** Dead-lettered and held deliveries per endpoint, counted in visibility when Prometheus scrapes. */
  collectDeadDeliveries(read: () => Promise<{ namespace: string; endpoint: string; dead: number; held: number }[]>): void {
    const collect = oneReadPerScrape(read, (sizes) => {
      dead.reset();
      held.reset();
      for (const { namespace, endpoint, ...size } of sizes) {
        dead.set({ namespace, endpoint }, size.dead);
        held.set({ namespace, endpoint }, size.held);
      }
    });
    const labelNames = ['namespace', 'endpoint'];
    const dead = new Gauge({
      name: 'ferry_push_dead_deliveries',
      help: 'Deliveries in the push dead letter (failed or held), per endpoint',
      labelNames,
      registers: [this.registry],
      collect,
    });
    const held = new Gauge({
      name: 'ferry_push_held_deliveries',
      help: 'Deliveries held for a disabled endpoint (part of the dead letter), per endpoint',
      labelNames,
      registers: [this.registry],
      collect,
    });
  }

  /** The payload codec's work in this process (the worker's too, when it runs here). */
  collectCodecWork(work: Record<'encode' | 'decode', CodecWork>): void {
    const labelNames = ['direction'];
    new Counter({
      name: 'ferry_codec_payloads_total',
      help: 'Payloads encrypted (encode) or decrypted (decode) by the payload codec',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [direction, w] of Object.entries(work)) this.inc({ direction }, w.payloads);
      },
    });
    new Counter({
      name: 'ferry_codec_seconds_total',
      help: 'CPU seconds the payload codec spent, by direction',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [direction, w] of Object.entries(work)) this.inc({ direction }, w.ms / 1000);
      },
    });
  }

  /** Marks consumers waiting on these queues; call the returned function when they are done. */
  consuming(namespace: string, queues: string[]): () => void {
    for (const queue of queues) {
      const key = `${namespace}/${queue}`;
      this.consumersOf.set(key, (this.consumersOf.get(key) ?? 0) + 1);
      this.activeConsumers.inc({ namespace, queue });
    }
    return () => {
      for (const queue of queues) {
        const key = `${namespace}/${queue}`;
        const left = (this.consumersOf.get(key) ?? 1) - 1;
        // A series per queue anyone ever named would grow without bound: it goes when its last consumer does.
        if (left > 0) {
          this.consumersOf.set(key, left);
          this.activeConsumers.dec({ namespace, queue });
        } else {
          this.consumersOf.delete(key);
          this.activeConsumers.remove({ namespace, queue });
        }
      }
    };
  }

  private readonly consumersOf = new Map<string, number>();

  /** Ready and dead-letter sizes of every queue, read from the index workflows when Prometheus scrapes. */
  collectQueueSizes(read: () => Promise<{ namespace: string; queue: string; ready: number; dead: number; oldestReadyAgeSeconds: number; paused: boolean }[]>): void {
    const collect = oneReadPerScrape(read, (sizes) => {
      ready.reset();
      dead.reset();
      oldest.reset();
      paused.reset();
      for (const { namespace, queue, ...size } of sizes) {
        paused.set({ namespace, queue }, size.paused ? 1 : 0);
        ready.set({ namespace, queue }, size.ready);
        dead.set({ namespace, queue }, size.dead);
        oldest.set({ namespace, queue }, size.oldestReadyAgeSeconds);
      }
    });
    const labelNames = ['namespace', 'queue'];
    const ready = new Gauge({ name: 'ferry_queue_ready_jobs', help: 'Ready jobs per queue', labelNames, registers: [this.registry], collect });
    const dead = new Gauge({ name: 'ferry_queue_dead_jobs', help: 'Dead-letter size per queue', labelNames, registers: [this.registry], collect });
    const paused = new Gauge({ name: 'ferry_queue_paused', help: '1 while the queue is paused', labelNames, registers: [this.registry], collect });
    const oldest = new Gauge({
      name: 'ferry_queue_oldest_ready_age_seconds',
      help: 'How long the oldest ready job of the queue has waited for a consumer (0 when none is ready)',
      labelNames,
      registers: [this.registry],
      collect,
    });
  }
}

/**
 * A gauge `collect` for several gauges fed by one read: whichever is collected first in a scrape
 * starts the read, and the others wait for it.
 */
function oneReadPerScrape<T>(read: () => Promise<T>, apply: (value: T) => void): () => Promise<void> {
  let scrape: Promise<void> | undefined;
  return async () => {
    scrape ??= read().then(apply);
    try {
      await scrape;
    } finally {
      setImmediate(() => (scrape = undefined));
    }
  };
}
