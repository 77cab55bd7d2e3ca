/**
 * What playbook code may use at run time inside the sandbox: the playbook side of the SDK, without
 * apps, schemas (zod) or anything of Node. A playbook's bundle resolves its SDK import (`riposte`,
 * or a path to the SDK's index) to this module; types come from the full SDK as usual.
 */
export { definePlaybook, cefValue, untrustedValue } from './playbook.js';
export { ActionError, TerminalError, RetryableError, ActionFailedError, toErrorRecord } from './errors.js';
