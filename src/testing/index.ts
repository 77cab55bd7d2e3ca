/**
 * `riposte/testing`: the authoring kit. Test a playbook hermetically — the real engine, policy and
 * sandbox, stand-ins of the vendors answering from the test — and check it against what real runs
 * did (fixtures exported with `riposte runs export <id> --fixture`). See docs/playbooks.md.
 */
export { loadPlaybook } from './load.js';
export { runPlaybook } from './runner.js';
export type { RunReport, StepReport, ActionReport, TestPlaybook } from './runner.js';
export { ScenarioError } from './scenario.js';
export type { Scenario, ActionAnswer } from './scenario.js';
export { checkFixture, differences } from './fixture.js';
export type { Fixture, Expectation } from './fixture.js';
