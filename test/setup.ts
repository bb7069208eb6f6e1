import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers log every state change at INFO; tests only need warnings. The runtime is per process.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed by an earlier test file in this Jest worker.
}
