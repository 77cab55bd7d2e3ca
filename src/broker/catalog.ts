/** The apps this process can run, by id. */
import type { AppDefinition, AnyActionDefinition } from '../sdk/app.js';

export class AppCatalog {
  private readonly byId = new Map<string, AppDefinition>();

  constructor(apps: AppDefinition[] = []) {
    for (const a of apps) this.add(a);
  }

  add(app: AppDefinition): void {
    if (this.byId.has(app.id)) throw new Error(`app ${app.id} is registered twice`);
    this.byId.set(app.id, app);
  }

  get(id: string): AppDefinition | undefined {
    return this.byId.get(id);
  }

  all(): AppDefinition[] {
    return [...this.byId.values()];
  }

  action(appId: string, action: string): AnyActionDefinition | undefined {
    const app = this.byId.get(appId);
    return app && Object.hasOwn(app.actions, action) ? app.actions[action] : undefined;
  }
}
