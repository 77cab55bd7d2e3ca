/**
 * The running audit trail of a server: the checkpointer and one exporter per configured SIEM sink.
 * Stop order matters: the final checkpoint is written first, so its entry is in the stream the
 * exporters drain before they stop.
 */
import type { Store } from '../store/store.js';
import type { AuditKeyring } from '../store/audit-keyring.js';
import type { AuditConfig } from './config.js';
import { AuditCheckpointer } from './checkpointer.js';
import { AuditExporter } from './export/exporter.js';
import { HecSink } from './export/hec-sink.js';
import { SyslogSink } from './export/syslog-sink.js';
import type { AuditSink } from './export/sink.js';

export interface AuditTrail {
  checkpointer: AuditCheckpointer;
  exporters: AuditExporter[];
  stop(): Promise<void>;
}

export function startAuditTrail(store: Store, keys: AuditKeyring, config: AuditConfig, onError: (err: unknown, what: string) => void): AuditTrail {
  const sinks: AuditSink[] = [];
  if (config.syslog) sinks.push(new SyslogSink(config.syslog));
  if (config.hec) sinks.push(new HecSink(config.hec));
  const checkpointer = new AuditCheckpointer(store, keys, {
    file: config.checkpointFile, everyEntries: config.checkpointEveryEntries, everyMs: config.checkpointEveryMs,
    onError: (err) => onError(err, 'audit checkpoint'),
  });
  const exporters = sinks.map((s) => new AuditExporter(store, s, { onError: (err, sink) => onError(err, `audit export to ${sink}`) }));
  checkpointer.start();
  for (const e of exporters) e.start();
  return {
    checkpointer, exporters,
    async stop() {
      await checkpointer.stop();
      await Promise.all(exporters.map(async (e) => {
        await e.stop();
        // One last attempt, bounded by the sink's timeout; what fails waits for the next start.
        await e.drain().catch((err: unknown) => onError(err, 'audit export at shutdown'));
      }));
    },
  };
}
