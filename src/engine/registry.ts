/**
 * The playbooks this process knows, by id. A playbook's code hash is recorded on every run so a
 * replay on different code can be told apart from one on the same code.
 */
import { createHash } from 'node:crypto';
import type { PlaybookDefinition } from '../sdk/playbook.js';

export interface RegisteredPlaybook {
  definition: PlaybookDefinition;
  /** sha256 of the playbook function's source text (first 16 hex chars). */
  hash: string;
}

export class PlaybookRegistry {
  private readonly byId = new Map<string, RegisteredPlaybook>();

  constructor(playbooks: PlaybookDefinition[] = []) {
    for (const p of playbooks) this.register(p);
  }

  register(definition: PlaybookDefinition): RegisteredPlaybook {
    if (this.byId.has(definition.id)) throw new Error(`playbook ${definition.id} is registered twice`);
    const hash = createHash('sha256').update(`${definition.version}\n${definition.run.toString()}`).digest('hex').slice(0, 16);
    const reg = { definition, hash };
    this.byId.set(definition.id, reg);
    return reg;
  }

  get(id: string): RegisteredPlaybook | undefined {
    return this.byId.get(id);
  }

  all(): RegisteredPlaybook[] {
    return [...this.byId.values()];
  }

  /** Playbooks whose triggers match an incident label. */
  matching(label: string): RegisteredPlaybook[] {
    return this.all().filter((p) => p.definition.triggers.labels.includes(label));
  }
}
