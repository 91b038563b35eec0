/** Rows deleted per statement: a long purge never holds one huge statement or transaction. */
export const DELETE_BATCH = 5000;

/**
 * Deletes rows matching `where` in batches of ids; returns how many went. Each statement deletes
 * only what it found, so two runs at once (here or on another instance) split the work instead of
 * failing, and their counts add up to what was purged.
 */
export async function deleteInBatches(
  find: (take: number) => Promise<Array<{ id: string }>>,
  remove: (ids: string[]) => Promise<{ count: number }>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = (await find(DELETE_BATCH)).map((r) => r.id);
    if (ids.length === 0) return total;
    total += (await remove(ids)).count;
    if (ids.length < DELETE_BATCH) return total;
  }
}
