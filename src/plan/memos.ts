// The module-level memos of the read path (parsed Markdown by its text, decoded plans by their bytes, log rows,
// compiled path patterns, rule contexts by repository), and one way to empty them all.
//
// Each memo is a pure function of its key, so an entry is never wrong; but the start-up snapshot (cli/snapshot.ts)
// is taken after a warm-up that lints sample plans, and a snapshot that kept their entries would start every process
// with them: a plan that happens to be one of the samples would skip work every other plan does (a benchmark on it
// would measure less than a user gets), and the heap that every start restores would be larger. The warm-up empties
// them before the snapshot is written.

const clears: Array<() => void> = [];

/** Registers how to empty a memo (called once, when its module loads). */
export function registerMemo(clear: () => void): void {
  clears.push(clear);
}

/** Empties every registered memo. */
export function clearMemos(): void {
  for (const clear of clears) clear();
}
