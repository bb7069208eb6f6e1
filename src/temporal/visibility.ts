/**
 * Visibility list queries, built in one place with one quoting rule. Every value Ferry puts in one
 * is a validated name (namespace, queue, event type, endpoint id), a state, a time or a number.
 */

/**
 * A string literal of the visibility query language. Quotes and backslashes are dropped rather
 * than escaped: no valid name holds one, and a value can then never end its literal early.
 */
export const literal = (value: string): string => `'${value.replace(/['"\\]/g, '')}'`;

/** The clauses that are given, joined with AND. */
export const allOf = (...clauses: (string | false | undefined)[]): string => clauses.filter((c): c is string => Boolean(c)).join(' AND ');

/** Running workflows only. */
export const RUNNING = `ExecutionStatus = ${literal('Running')}`;

/** Workflows of one type. */
export const ofType = (workflowType: string): string => `WorkflowType = ${literal(workflowType)}`;
