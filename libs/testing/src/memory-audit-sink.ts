import type { AuditEntry, AuditSink } from '@taxiway/domain';

/** An AuditSink that keeps every entry, in the order recorded, for a test to read. */
export class MemoryAuditSink implements AuditSink {
  readonly entries: AuditEntry[] = [];

  record(entry: AuditEntry): void {
    this.entries.push(entry);
  }
}
