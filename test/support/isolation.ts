/** What a handler of the isolation probes reports: its connection id and when it ran. */
export interface IsolationRow {
  id1: number;
  t0: number;
  t1: number;
}

/**
 * Pairs of units of work that overlapped in time on one server connection (there must be none),
 * as `"id 12: [3.1, 9.0] overlaps [5.2, 7.7]"`.
 */
export function overlapsOnOneConnection(rows: readonly IsolationRow[]): string[] {
  const byId = new Map<number, IsolationRow[]>();
  for (const row of rows) byId.set(row.id1, [...(byId.get(row.id1) ?? []), row]);
  const found: string[] = [];
  for (const [id, group] of byId) {
    group.sort((a, b) => a.t0 - b.t0);
    for (let i = 1; i < group.length; i++) {
      const [prev, next] = [group[i - 1], group[i]];
      if (next.t0 < prev.t1)
        found.push(`id ${id}: [${prev.t0}, ${prev.t1}] overlaps [${next.t0}, ${next.t1}]`);
    }
  }
  return found;
}
