/**
 * Headers on every answer of the server (API JSON, the e-mail approval pages, errors): nothing it
 * sends may be sniffed into another type, framed by another site (clickjacking an approval page),
 * run script, leak its URL in a Referer (an approval link is a credential) or be cached (answers
 * carry incident data, approval pages decide). A route that sets one of these itself keeps its own.
 */
import type { FastifyInstance } from 'fastify';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // No script, style or frame; a form may post only to this server (the e-mail approval page).
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
    done(null, payload);
  });
}
