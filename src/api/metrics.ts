import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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

  /** Marks consumers waiting on these queues; call the returned function when they are done. */
  consuming(namespace: string, queues: string[]): () => void {
    for (const queue of queues) this.activeConsumers.inc({ namespace, queue });
    return () => {
      for (const queue of queues) this.activeConsumers.dec({ namespace, queue });
    };
  }

  /** Registers a gauge whose value is read when Prometheus scrapes. */
  addGauge(name: string, help: string, labelNames: string[], collect: (gauge: Gauge) => Promise<void>): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });
  }
}
