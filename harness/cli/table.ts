/** Plain-text tables for the terminal: columns padded, numbers right-aligned. */

/** Terminal tables fit this many columns unless the command is given --wide. */
export const TABLE_WIDTH = 120;

export interface Fit {
  /** Most characters a line may take. */
  width: number;
  /** Columns that may be cut (with "…") to fit, in the order they are cut; never below 12 characters. */
  shrink: number[];
}

const MIN_CUT_WIDTH = 12;

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

export function renderTable(headers: string[], rows: string[][], rightAligned: ReadonlySet<number> = new Set(), fit?: Fit): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (fit) {
    for (const column of fit.shrink) {
      const excess = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - fit.width;
      if (excess <= 0) break;
      widths[column] = Math.min(widths[column], Math.max(MIN_CUT_WIDTH, headers[column].length, widths[column] - excess));
    }
  }
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const text = cut(c ?? '', widths[i]);
        return rightAligned.has(i) ? text.padStart(widths[i]) : text.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
