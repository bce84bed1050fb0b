// Reads the whole update history of the stack, page by page (`--page-size`/`--page`), because
// pulumi prints only 10 entries unless asked for more.
import type { HistoryEntry } from "./historySchema";

export interface HistorySource {
  historyPage(page: number, pageSize: number): Promise<HistoryEntry[]>;
}

/** Every history entry, newest first, as pulumi orders them. Stops at the first short page. */
export async function fetchAllHistory(source: HistorySource, pageSize = 100, maxPages = 1000): Promise<HistoryEntry[]> {
  const all: HistoryEntry[] = [];
  for (let page = 1; page <= maxPages; page++) {
    const entries = await source.historyPage(page, pageSize);
    all.push(...entries);
    if (entries.length < pageSize) break;
  }
  return all;
}
