/** A dependency check that answers within this time, else counts as down. */
const PROBE_TIMEOUT_MS = 1000;

/** `promise`, or a rejection once `ms` have passed (the work itself is not cancelled). */
export async function withTimeout<T>(promise: Promise<T>, ms = PROBE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
