import type { WaitOn } from '../common/wait-on.js';

/** A parked step's journal detail: what it waits for and how to act on it. */
export function waitDetail(on: WaitOn): string {
  switch (on.kind) {
    case 'approval':
      return `waits for approval ${on.id} (riposte approvals show ${on.id})`;
    case 'prompt':
      return `waits for an answer to prompt ${on.id} (riposte prompts show ${on.id})`;
    case 'kill-switch':
      return 'waits for the kill switch to be released (riposte policy kill-switch status)';
    case 'run':
      return `waits for child run ${on.id} (riposte runs show ${on.id})`;
    case 'timer':
      return 'waits for its timer';
  }
}
