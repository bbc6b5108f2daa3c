import { describe, expect, it } from 'vitest';
import { runCli } from './support/fixtures.js';
import { MODEL_CONFIG, modelRepo, readPlan, SANDBOX } from './support/model-plan.js';

/**
 * `--executor command`: an agent that fails says why on standard error (a CLI that cannot log in, a crash). The
 * failed row's excerpt carries what it printed there too, through the real command line and the sandbox.
 */
const AGENT = `process.stdout.write('working on the step\\n');
process.stderr.write('Error: not logged in; run the agent login first\\n');
process.exit(3);
`;

describe('a failed agent row', () => {
  it('keeps what the agent printed on standard error', async () => {
    const root = modelRepo(undefined, { 'agent.mjs': AGENT }, `${MODEL_CONFIG}execute:\n  agent:\n    command: node agent.mjs\n    network: false\n`);
    const result = await runCli(['run', 'plans/p.md', '--once', '--executor', 'command', ...(SANDBOX ? [] : ['--no-sandbox'])], root);
    expect(result.code, result.stderr).toBe(0);
    const row = readPlan(root).log!.rows[0]!;
    expect(row).toMatchObject({ result: 'failed', signal: 'CONTINUE' });
    expect(row.notes).toBe('the agent exited 3; it printed: working on the step Error: not logged in; run the agent login first');
  });
});
