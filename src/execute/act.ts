import { ModelError } from '../models/errors.js';
import type { ModelRunner } from '../models/runner.js';
import { gateActionText, gateReviewNotes, modelActionNotes, refusedNotes, stepActionText } from '../plan/log-grammar.js';
import { safeText } from '../plan/text.js';
import type { Phase, Plan, Step } from '../plan/types.js';
import { SAME_ACTION_FAILURES } from '../rules/escape-hatch.js';
import type { Skill } from '../skills/discover.js';
import {
  allowedToolsOf,
  droppedCallsNote,
  EngineError,
  isCostCap,
  makeOutcome,
  measureChanges,
  MODEL_TOOLS,
  modelActionText,
  ModelActionSchema,
  performModelAction,
  readInputs,
  runCommandStep,
  sandboxed,
  toolSkillCommand,
  type ActionOutcome,
  type ModelAction,
} from './executors.js';
import { reviewPhaseOutputs } from './gate.js';
import { stepFailures } from './history.js';
import type { AgentAnswer, AgentHandOff, AgentRunner, IterationRun, Taken } from './iteration-run.js';
import { stepAction, type NextAction } from './next.js';
import { buildIterationPrompt, EXECUTOR_SYSTEM, INPUTS_BUDGET } from './prompt.js';
import { markInFlight, readObservation } from './record.js';

/** The structured request of the executor model's one action (its offline engine answers it only with a handler). */
const EXECUTOR_FORMAT = 'executor_action';

/** Whether the executor model can carry a model step out (a key, or an offline handler for its request). */
export function executorCanAct(models: ModelRunner | null): models is ModelRunner {
  return models !== null && models.answers('executor', EXECUTOR_FORMAT);
}

/**
 * Step 3: exactly one action, the one nextAction chose: a step (a command, a tool skill, the executor model's one
 * tool call, or an external agent's turn), the quality gate's review, or the check of a phase or of the criteria.
 */
export async function act(
  run: IterationRun,
  next: Extract<NextAction, { kind: 'step' | 'gate' | 'check' | 'criteria' }>,
): Promise<{ outcome: ActionOutcome; taken: Taken }> {
  const phase = next.phase;
  if (next.kind === 'step') return { outcome: await executeStep(run, next), taken: { kind: 'step', step: next.step } };
  const gate = next.kind === 'gate' ? 'review' : next.kind;
  const action = gateActionText(phase.id, gate);
  run.emit({ type: 'action', action, phase: phase.id });
  if (gate === 'review') return { outcome: await runGate(run, phase, action), taken: { kind: 'gate', gate } };
  return { outcome: makeOutcome({ action, result: 'no-change', stepDone: true, notes: '' }), taken: { kind: 'gate', gate } };
}

async function executeStep(run: IterationRun, next: Extract<NextAction, { kind: 'step' }>): Promise<ActionOutcome> {
  const { plan, context, report, emit } = run;
  const { phase, step } = next;
  const begin = (action: string) => markInFlight(run, phase, action);
  const skill = step.kind === 'skill' ? (context.skills.skills.get(step.skill!) ?? null) : null;
  if (step.kind === 'run' || skill?.run) {
    const action = stepAction(phase, step);
    emit({ type: 'action', action, phase: phase.id });
    await begin(action);
    const outcome =
      step.kind === 'run'
        ? await runCommandStep(action, step.command ?? '', context, { checkPrefix: true })
        : await runCommandStep(action, () => toolSkillCommand(skill!, step), context, { checkPrefix: false, env: { DEEPPLAN_SKILL_DIR: skill!.dir } });
    report.actionMs += outcome.actionMs;
    return outcome;
  }
  if (context.executor === 'command') return runAgentStep(run, next, skill);

  // A skill step without a command, or a model step: the executor model, one tool call.
  const models = context.models;
  if (!executorCanAct(models)) {
    return makeOutcome({
      action: stepAction(phase, step),
      result: 'blocked',
      notes: 'needs the executor model, which is offline (no API key)',
      blocker:
        `${phase.id}.${step.index} needs a model and the executor role is offline: set its provider's API key (deepplan doctor shows which), ` +
        `run it with --executor command, or do the step by hand and run deepplan approve <plan> ${phase.id}`,
    });
  }
  const tools = [...(allowedToolsOf(skill) ?? new Set(MODEL_TOOLS))];
  const { failures, refused } = stepFailures(phase, step, plan.log?.rows ?? []);
  const prompt = buildIterationPrompt({
    plan,
    phase,
    step,
    redo: next.redo,
    skill,
    tools,
    failures,
    observation: readObservation(context.root, plan),
    inputs: phase.context === 'direct' || phase.context === null ? readInputs(context.root, phase.inputs, INPUTS_BUDGET) : '',
    blockedActions: refused,
  });
  report.prompt = prompt;
  const started = performance.now();
  let answer: ModelAction;
  // One tool call per iteration: the provider is asked for one; any further call an answer carries is dropped, and said.
  let dropped: string | null = null;
  try {
    const reply = await models.generateObject('executor', {
      name: EXECUTOR_FORMAT,
      schema: ModelActionSchema,
      system: EXECUTOR_SYSTEM,
      prompt,
      maxTokens: 8_000,
      oneCall: true,
    });
    answer = reply.object;
    if (reply.extraCalls?.length) dropped = droppedCallsNote(reply.extraCalls);
  } catch (error) {
    report.actionMs += performance.now() - started;
    const action = stepAction(phase, step);
    if (isCostCap(error)) {
      return makeOutcome({
        action,
        result: 'blocked',
        notes: 'the --max-cost cap is reached',
        blocker: `the --max-cost cap is reached: ${(error as Error).message}`,
      });
    }
    if (error instanceof ModelError) {
      return makeOutcome({ action, result: 'failed', notes: `the executor model failed: ${error.message.split('\n')[0]}` });
    }
    throw error;
  }
  report.actionMs += performance.now() - started;
  const action = modelActionText(phase, step, answer);
  emit({ type: 'action', action, phase: phase.id });
  if (refused.includes(action)) {
    return makeOutcome({
      action,
      result: 'failed',
      notes: modelActionNotes(refusedNotes(`this action failed ${SAME_ACTION_FAILURES} times; an alternative is required`), null, dropped),
    });
  }
  await begin(action);
  const outcome = await performModelAction(answer, action, skill, context);
  report.actionMs += outcome.actionMs;
  if (answer.learning && outcome.learning === null)
    Object.assign(outcome, { learning: `${phase.id}.${step.index}: ${answer.learning}`, learningClaimed: true });
  outcome.notes = modelActionNotes(outcome.notes, outcome.result !== 'failed' && answer.summary ? answer.summary : null, dropped);
  return outcome;
}

/** `--executor command`: the iteration prompt goes to an external agent; its status block is the last line it prints. */
async function runAgentStep(run: IterationRun, next: Extract<NextAction, { kind: 'step' }>, skill: Skill | null): Promise<ActionOutcome> {
  const { phase, step } = next;
  const { report, emit } = run;
  const handOff = agentHandOff(run.plan, phase, step, next.redo, skill);
  report.prompt = handOff.prompt;
  emit({ type: 'action', action: handOff.action, phase: phase.id });
  await markInFlight(run, phase, handOff.action);
  const answer = await (run.options.agent ?? commandAgent)(handOff, run.context);
  report.actionMs += answer.actionMs;
  return agentOutcome(handOff.action, phase, step, answer);
}

/** The first half of an agent's step: the prompt it gets (the iteration prompt and the status instructions) and the Action. */
export function agentHandOff(plan: Plan, phase: Phase, step: Step, redo: string | null, skill: Skill | null): AgentHandOff {
  const tools = [...(allowedToolsOf(skill) ?? new Set(MODEL_TOOLS))];
  const iterationPrompt = buildIterationPrompt({ plan, phase, step, redo, skill, tools, failures: [], observation: null, inputs: '', blockedActions: [] });
  const prompt = `${EXECUTOR_SYSTEM}\n\n${iterationPrompt}\n\n${AGENT_STATUS_INSTRUCTIONS}`;
  // A skill step's Action names its skill right after the reference (`P2.1 /write-summary agent ...`), as the builtin
  // executor's do: that is what the log counts as the skill's invocation (history.ts skillInvocations).
  const action = stepActionText(
    phase.id,
    step.index,
    `${step.skill ? `/${step.skill} ` : ''}agent ${((step.skill ? step.args : step.text) ?? '').replace(/\s+/g, ' ').slice(0, 100)}`,
  ).trim();
  return { prompt, action };
}

/** execute.agent.command, the prompt on its standard input, in the sandbox; what it changed measured from the files. */
const commandAgent: AgentRunner = async (handOff, context) => {
  const agent = context.config.execute?.agent;
  if (!agent?.command) throw new EngineError('--executor command needs execute.agent.command in deepplan.config.yaml (e.g. "claude -p")');
  const {
    value: result,
    changed,
    actionMs,
  } = await measureChanges(context.scope, () =>
    sandboxed(agent.command, context, {
      input: handOff.prompt,
      network: agent.network ?? true,
      keepKeys: true,
      extraWritable: agent.writable ?? [],
      passEnv: agent.env ?? [],
    }),
  );
  return { stdout: result.stdout, stderr: result.stderr, code: result.code, timedOut: result.timedOut, changed, actionMs };
};

/** The second half: the agent's answer as the iteration's outcome (a status block on its last line, or a failure). */
export function agentOutcome(action: string, phase: Phase, step: Step, answer: AgentAnswer): ActionOutcome {
  const { changed, actionMs } = answer;
  const status = parseAgentStatus(answer.stdout);
  if (answer.code !== 0 || status === null) {
    const why =
      answer.code !== 0
        ? `the agent exited ${answer.code}${answer.timedOut ? ' (timed out)' : ''}`
        : 'the agent printed no valid status block on its last line';
    // What the agent printed, for the person reading the row: its last 300 characters (where a CLI puts its error),
    // control characters stripped and white space folded. Standard error too, where the runner passes it on.
    const printed = [answer.stdout, 'stderr' in answer && typeof answer.stderr === 'string' ? answer.stderr : ''].join('\n');
    const flat = safeText(printed).replace(/\s+/g, ' ').trim();
    const excerpt = flat.length > 300 ? `…${flat.slice(-299)}` : flat;
    return makeOutcome({
      action,
      result: 'failed',
      notes: excerpt === '' ? `${why}; it printed nothing` : `${why}; it printed: ${excerpt}`,
      changed,
      actionMs,
    });
  }
  return makeOutcome({
    action,
    result: changed.length > 0 ? 'ok' : 'no-change',
    stepDone: status.step_done,
    notes: `${changed.length} file(s) changed: ${status.summary}`.slice(0, 300),
    changed,
    learning: status.learning ? `${phase.id}.${step.index}: ${status.learning}` : null,
    learningClaimed: true,
    actionMs,
  });
}

export const AGENT_STATUS_INSTRUCTIONS =
  'Do this one step, then end your output with one line of JSON and nothing after it: ' +
  '{"step_done": true|false, "summary": "what you did", "learning": null or "what the next iteration should know"}';

export function parseAgentStatus(stdout: string): { step_done: boolean; summary: string; learning: string | null } | null {
  const last = stdout.trim().split('\n').pop()?.trim() ?? '';
  try {
    const value = JSON.parse(last.replace(/^```(?:json)?|```$/g, '')) as Record<string, unknown>;
    if (typeof value['step_done'] !== 'boolean' || typeof value['summary'] !== 'string') return null;
    const learning = value['learning'];
    return { step_done: value['step_done'], summary: value['summary'], learning: typeof learning === 'string' ? learning : null };
  } catch {
    return null;
  }
}

async function runGate(run: IterationRun, phase: Phase, action: string): Promise<ActionOutcome> {
  const started = performance.now();
  const review = await reviewPhaseOutputs(run.plan, phase, run.context, run.options.models);
  const actionMs = performance.now() - started;
  return makeOutcome({
    action,
    result: 'no-change',
    stepDone: true,
    notes: gateReviewNotes(review),
    observation: review.findings.join('\n') || null,
    actionMs,
  });
}
