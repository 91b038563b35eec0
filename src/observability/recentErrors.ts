/** What diagnostics shows of a server-side error: never a stack or a secret. */
export interface RecentError {
  at: Date;
  code: string;
  message: string;
  operationName: string | null;
  requestId: string | null;
}

const CAPACITY = 100;

/** Credentials inside URLs (`scheme://user:password@host`) and bearer tokens are cut out of messages. */
export function redactSecrets(message: string): string {
  return message
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[redacted]@')
    .replace(/Bearer\s+[A-Za-z0-9._~+/-]+=*/gi, 'Bearer [redacted]')
    .slice(0, 500);
}

/** The last 100 server-side errors, newest first. */
export class RecentErrors {
  private readonly entries: RecentError[] = [];

  add(entry: RecentError): void {
    this.entries.unshift({ ...entry, message: redactSecrets(entry.message) });
    if (this.entries.length > CAPACITY) this.entries.length = CAPACITY;
  }

  list(): RecentError[] {
    return [...this.entries];
  }

  clear(): number {
    const count = this.entries.length;
    this.entries.length = 0;
    return count;
  }
}
