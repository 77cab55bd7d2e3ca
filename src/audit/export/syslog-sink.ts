/**
 * The audit stream over syslog: RFC 5424 messages, octet-counted (RFC 6587) on TCP.
 *
 * Failure semantics: one connection per batch. The frames are written, then our side is closed
 * (FIN); the batch counts as delivered only when the receiver closes its side in turn, which it
 * does after reading everything we sent. A reset, a timeout or an early close rejects the batch,
 * and the exporter sends it again: at-least-once up to the receiver having read it (plain syslog
 * has no application acknowledgement; what the receiver does after reading is its own).
 */
import net from 'node:net';
import type { AuditEntry } from '../../store/records.js';
import type { AuditSink } from './sink.js';
import { formatAuditEntry, octetFrame, type SyslogFormat } from './rfc5424.js';

export interface SyslogSinkOptions extends SyslogFormat {
  host: string;
  port: number;
  timeoutMs?: number;
}

export class SyslogSink implements AuditSink {
  readonly name: string;

  constructor(private readonly opts: SyslogSinkOptions) {
    this.name = `syslog:${opts.host}:${opts.port}`;
  }

  send(entries: readonly AuditEntry[]): Promise<void> {
    const data = Buffer.concat(entries.map((e) => octetFrame(formatAuditEntry(e, this.opts))));
    const where = `syslog receiver ${this.opts.host}:${this.opts.port}`;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.opts.host, port: this.opts.port });
      let settled = false;
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (err) reject(err);
        else resolve();
      };
      socket.setTimeout(this.opts.timeoutMs ?? 10_000, () => done(new Error(`${where}: no answer within the timeout`)));
      socket.on('error', (err) => done(new Error(`${where}: ${err.message}`)));
      socket.on('connect', () => socket.end(data));
      // The peer's FIN after ours: it has read the whole stream.
      socket.on('end', () => done(socket.writableFinished ? undefined : new Error(`${where} closed before reading the batch`)));
      socket.on('close', () => done(new Error(`${where}: connection closed before the receiver finished`)));
      socket.resume();
    });
  }
}
