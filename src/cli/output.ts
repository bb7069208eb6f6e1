/** How a command prints: JSON for scripts, or aligned columns and short lines for people. */
export class Output {
  constructor(readonly json: boolean) {}

  /** Prints `value` as JSON, or as the lines `human` makes of it. */
  show<T>(value: T, human: (value: T) => string | string[]): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else process.stdout.write(`${[human(value)].flat().join('\n')}\n`);
  }

  /** Rows as aligned columns under a header; `empty` when there are none. */
  static table(rows: Record<string, string | number | boolean | null | undefined>[], columns: string[], empty: string): string {
    if (rows.length === 0) return empty;
    const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
    const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
    const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
    return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
  }
}
