import { allHandlersFinished, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { rewriteSignal } from './rewrite.messages';

/**
 * Temporal caps one run's history (it suggests continue-as-new near 4K events) and accepted updates
 * (history.maxTotalUpdates, 2000 by default). Long-lived index workflows track both here and
 * continue as new well before either limit, or when asked to (`rewriteSignal`).
 */
export class RunBudget {
  static readonly MAX_UPDATES_PER_RUN = 1000;
  private updates = 0;
  private rewriteAsked = false;
  /** Set once the run is ending: waiting handlers return early so the run can close. */
  wrappingUp = false;

  /** Call once, in the workflow's main function, before it first waits. */
  constructor() {
    setHandler(rewriteSignal, () => {
      this.rewriteAsked = true;
    });
  }

  countUpdate(): void {
    this.updates++;
  }

  get exhausted(): boolean {
    return this.rewriteAsked || this.updates >= RunBudget.MAX_UPDATES_PER_RUN || workflowInfo().continueAsNewSuggested;
  }

  /** Lets in-flight handlers finish; call right before continueAsNew. */
  async wrapUp(): Promise<void> {
    this.wrappingUp = true;
    await condition(allHandlersFinished);
  }
}
