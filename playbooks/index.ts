/** The playbooks shipped with Riposte. */
import type { PlaybookDefinition } from '../src/sdk/index.js';
import mobileUnauthorizedIp from './mobile-unauthorized-ip.js';

export const shippedPlaybooks: PlaybookDefinition[] = [mobileUnauthorizedIp as unknown as PlaybookDefinition];
