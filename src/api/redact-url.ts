/**
 * What of a request's URL may be written to a log. Two kinds of credentials travel in URLs here:
 * a source token in the query (`?token=` — Splunk's webhook cannot send headers), and an e-mail
 * approval link's token in the path (`/approvals/email/<token>`: whoever reads it can decide the
 * approval). A query parameter's name is compared as the server's parser reads it — decoded
 * (`?%74oken=` is `token`) and case-insensitively — so an encoded name cannot slip past.
 */

/** Query parameters whose values are secrets. */
const SECRET_PARAMS = new Set(['token', 'access_token', 'api_key', 'apikey', 'key', 'secret', 'password']);
/** Path segments that are bearer credentials: the segment after the prefix is replaced. */
const SECRET_PATH = /(\/approvals\/email\/)[^/?#]*/gi;

/** The decoded name of one raw `name=value` pair of a query string (URLSearchParams's decoding). */
function nameOf(pair: string): string {
  const first = new URLSearchParams(pair).keys().next();
  return first.done === true ? '' : first.value.trim().toLowerCase();
}

/** The URL with secret path segments and the values of secret query parameters replaced by REDACTED. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(SECRET_PATH, '$1REDACTED');
  if (q < 0) return path;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const pairs = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (!SECRET_PARAMS.has(nameOf(eq < 0 ? pair : pair.slice(0, eq)))) return pair;
    return `${eq < 0 ? pair : pair.slice(0, eq)}=REDACTED`;
  });
  return `${path}?${pairs.join('&')}${hash < 0 ? '' : '#REDACTED'}`;
}
