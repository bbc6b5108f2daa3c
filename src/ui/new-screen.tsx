import { Box, Static, Text, render, useInput } from 'ink';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { PIPELINE_PHASES, type PipelineEvent } from '../pipeline/run.js';
import type { BudgetDetail, RoundView, RunChoice, SessionEvent, SessionLine, SizingDetail } from '../pipeline/session.js';
import type { SkillAuditView } from '../pipeline/skill-choice.js';
import type { Question } from '../pipeline/sufficiency.js';
import { FindingDetails, FindingLine } from './findings-browser.js';
import { Store } from './store.js';
import { Hanging, Wrapped } from './layout.js';
import { RedrawProvider, RedrawStore, useStaticItems, watchNarrowing } from './redraw.js';
import { clip, flat, MAX_WIDTH, tint, useLayoutWidth } from './style.js';

export type { BudgetDetail, RoundView, RunChoice, SizingDetail } from '../pipeline/session.js';

/**
 * The screens of `deepplan new`: the request, the pipeline's phases as a live list, the interview, the skill audit,
 * the sizing and budget table, the review rounds and the final choice. renderNewSession sets this store from the
 * events of the session (src/pipeline/session.ts); the screens show the state and pass keys back through
 * `NewActions` to the event that waits. They hold no planning logic: what they show comes from the session, what
 * they answer goes to it. Finished lines go to Ink's <Static> so a long session does not redraw them. Every screen
 * lays out for the terminal's width (src/ui/style.ts): prose wraps at word boundaries, table cells are clipped to
 * their column.
 */

export interface PhaseLine {
  phase: string;
  status: 'pending' | 'running' | 'done';
  startedAt: number | null;
  elapsedMs: number | null;
  summary: string | null;
  notes: string[];
}

/** A log item before the store numbers it: a line of the session, or a finished phase. */
export type LogInput = SessionLine | { kind: 'phase'; line: PhaseLine };

/** A finished line (or block) of the session, written once above the live part. */
export type LogItem = LogInput & { id: string };

export type Stage =
  | { kind: 'request'; error: string | null }
  | { kind: 'pipeline' }
  | { kind: 'question'; question: Question; number: number }
  | { kind: 'skills'; audit: SkillAuditView }
  | { kind: 'reviewing'; reason: string; startedAt: number; message: string | null }
  | { kind: 'review'; round: RoundView }
  | { kind: 'final'; plan: string; facts: string; message: string | null; busy: boolean }
  | { kind: 'done' };

export interface NewState {
  log: LogItem[];
  phases: PhaseLine[];
  stage: Stage;
}

export interface NewActions {
  submitRequest(text: string): void;
  answer(text: string): void;
  confirmSkills(toggled: string[]): void;
  continueReview(): void;
  choose(choice: RunChoice): void;
  /** Ctrl-C. */
  interrupt(): void;
}

/** The state of the screens of deepplan new; finished lines are appended to the static log. */
export class NewStore extends Store<NewState> {
  private counter = 0;
  /** Appends finished lines to the static log. */
  append(...items: LogInput[]): void {
    this.set({ log: [...this.state.log, ...items.map((item) => ({ ...item, id: `${++this.counter}` }) as LogItem)] });
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Re-renders every `ms` while mounted (the spinner and elapsed times). */
function useTick(active: boolean, ms = 100): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setTick((value) => value + 1), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return tick;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`.padStart(6);

/** The mark, phase name and elapsed time of a phase line: the summary and the notes wrap beside them. */
const PHASE_LEAD = 2 + 12 + 6 + 1;

function PhaseRow({ line, tick }: { line: PhaseLine; tick: number }) {
  const mark =
    line.status === 'done' ? (
      <Text color={tint('green')}>✔</Text>
    ) : line.status === 'running' ? (
      <Text color={tint('cyan')}>{SPINNER[tick % SPINNER.length]}</Text>
    ) : (
      <Text dimColor>·</Text>
    );
  const elapsed =
    line.status === 'done'
      ? seconds(line.elapsedMs ?? 0)
      : line.status === 'running' && line.startedAt !== null
        ? seconds(Date.now() - line.startedAt)
        : '      ';
  return (
    <Box flexDirection="column">
      <Hanging
        lead={
          <>
            {mark} {line.phase.padEnd(12)}
            {elapsed}{' '}
          </>
        }
        width={PHASE_LEAD}
        dim={line.status === 'pending'}
      >
        {line.summary ? flat(line.summary) : line.status === 'running' ? '…' : ''}
      </Hanging>
      {line.notes.slice(0, 4).map((note, index) => (
        <Hanging key={index} lead="" width={PHASE_LEAD} dim>
          {flat(note)}
        </Hanging>
      ))}
      {line.notes.length > 4 ? (
        <Hanging lead="" width={PHASE_LEAD} dim>
          … {line.notes.length - 4} more
        </Hanging>
      ) : null}
    </Box>
  );
}

/** The skill audit as a table: mapped skills with their phases and reasons, excluded ones with reasons. */
/** Phase ids with runs of three or more consecutive numbers folded: P5, P6, P7, P9 → P5–P7,P9 (one contact per phase makes long runs). */
export function phaseRanges(ids: string[]): string {
  const runs: Array<{ first: number; last: number } | string> = [];
  for (const id of ids) {
    const match = /^P(\d+)$/.exec(id);
    const previous = runs[runs.length - 1];
    if (!match) runs.push(id);
    else if (typeof previous === 'object' && Number(match[1]) === previous.last + 1) previous.last += 1;
    else runs.push({ first: Number(match[1]), last: Number(match[1]) });
  }
  const shown = (run: { first: number; last: number }) =>
    run.last - run.first >= 2
      ? `P${run.first}–P${run.last}`
      : Array.from({ length: run.last - run.first + 1 }, (_, index) => `P${run.first + index}`).join(',');
  return runs.map((run) => (typeof run === 'string' ? run : shown(run))).join(',');
}

/** The cursor, box, name and phase columns of a skill's line: the reason is clipped to the rest of the width. */
const SKILL_LEAD = 2 + 4 + 25 + 8;

export function SkillTable({ audit, cursor = -1, toggled = new Set<string>() }: { audit: SkillAuditView; cursor?: number; toggled?: Set<string> }) {
  const width = useLayoutWidth();
  const rows = [
    ...audit.mapped.map((skill) => ({ name: skill.name, mapped: true, where: phaseRanges(skill.phases), why: skill.why })),
    ...audit.excluded.map((skill) => ({ name: skill.name, mapped: false, where: '', why: skill.reason })),
  ];
  return (
    <Box flexDirection="column">
      {rows.map((row, index) => {
        const flipped = toggled.has(row.name);
        const header = index === 0 ? 'Mapped' : index === audit.mapped.length ? 'Excluded' : null;
        const nowMapped = row.mapped !== flipped;
        return (
          <Box key={row.name} flexDirection="column">
            {header ? <Text bold>{header}</Text> : null}
            <Text inverse={index === cursor} wrap="truncate-end">
              {index === cursor ? '❯ ' : '  '}
              <Text color={tint(nowMapped ? 'green' : 'gray')}>{nowMapped ? '[x]' : '[ ]'}</Text> {clip(row.name, 24).padEnd(24)} {clip(row.where, 7).padEnd(7)}{' '}
              {flipped ? <Text color={tint('yellow')}>{nowMapped ? '→ mapped on Enter' : '→ excluded on Enter'}</Text> : clip(row.why, width - SKILL_LEAD)}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}

function SkillAudit({ audit, actions }: { audit: SkillAuditView; actions: NewActions }) {
  const names = [...audit.mapped.map((skill) => skill.name), ...audit.excluded.map((skill) => skill.name)];
  const [cursor, setCursor] = useState(0);
  const [toggled, setToggled] = useState<Set<string>>(new Set());
  useInput((input, key) => {
    if (key.downArrow) setCursor((index) => Math.min(index + 1, names.length - 1));
    else if (key.upArrow) setCursor((index) => Math.max(index - 1, 0));
    else if (input === ' ') {
      const name = names[cursor];
      if (!name) return;
      setToggled((set) => {
        const next = new Set(set);
        if (next.has(name)) next.delete(name);
        else next.add(name);
        return next;
      });
    } else if (key.return) actions.confirmSkills(names.filter((name) => toggled.has(name)));
  });
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>
        Skill audit: {audit.mapped.length} mapped, {audit.excluded.length} excluded
      </Text>
      <SkillTable audit={audit} cursor={cursor} toggled={toggled} />
      {audit.problem ? <Wrapped color={tint('red')}>cannot write the plan yet: {flat(audit.problem)}</Wrapped> : null}
      <Wrapped dimColor>↑↓ select · space map/exclude (the audit picks the phase) · Enter confirm</Wrapped>
    </Box>
  );
}

/**
 * Typed text as it arrives: a fast typist, a paste or tmux send-keys delivers "text\r" in one chunk, where Ink sets
 * no `return` key; the chunk's final line break is then the Enter that submits it (inner ones become spaces).
 */
export function typedChunk(input: string): { text: string; submit: boolean } {
  const submit = input.length > 1 && /[\r\n]$/.test(input);
  return { text: input.replace(/[\r\n]+$/, '').replace(/[\r\n]+/g, ' '), submit };
}

function TextInput({ prompt, onSubmit, hint }: { prompt: string; onSubmit: (text: string) => void; hint: string }) {
  const [text, setText] = useState('');
  useInput((input, key) => {
    if (key.return) onSubmit(text);
    else if (key.backspace || key.delete) setText((value) => value.slice(0, -1));
    else if (!key.ctrl && !key.meta && !key.escape && !key.upArrow && !key.downArrow && !key.leftArrow && !key.rightArrow && !key.tab && input) {
      const typed = typedChunk(input);
      if (typed.submit) onSubmit(text + typed.text);
      else setText(text + typed.text);
    }
  });
  return (
    <Box flexDirection="column">
      <Wrapped>
        <Text bold>{prompt}</Text> {text}
        <Text inverse> </Text>
      </Wrapped>
      <Wrapped dimColor>{hint}</Wrapped>
    </Box>
  );
}

function Interview({ question, number, actions }: { question: Question; number: number; actions: NewActions }) {
  const [selected, setSelected] = useState(question.recommended ?? 0);
  const [text, setText] = useState('');
  const accept = (typed: string) => {
    if (typed.trim() !== '') actions.answer(typed.trim());
    else if (question.options.length > 0) actions.answer(question.options[selected]!);
  };
  useInput((input, key) => {
    if (key.return) accept(text);
    else if (key.downArrow) {
      setSelected((index) => Math.min(index + 1, question.options.length - 1));
      setText('');
    } else if (key.upArrow) {
      setSelected((index) => Math.max(index - 1, 0));
      setText('');
    } else if (key.backspace || key.delete) setText((value) => value.slice(0, -1));
    else if (!key.ctrl && !key.meta && !key.escape && !key.tab && !key.leftArrow && !key.rightArrow && input) {
      const typed = typedChunk(input);
      if (typed.submit) accept(text + typed.text);
      else setText(text + typed.text);
    }
  });
  return (
    <Box flexDirection="column" marginTop={1}>
      <Hanging lead="? " width={2} bold>
        {flat(question.text)}{' '}
        <Text dimColor>
          (question {number}, {question.part})
        </Text>
      </Hanging>
      {question.options.map((option, index) => {
        const lead = `${index === selected && text === '' ? '❯ ' : '  '}${index + 1}) `;
        return (
          <Hanging key={option} lead={lead} width={lead.length} inverse={index === selected && text === ''}>
            {flat(option)}
            {question.recommended === index ? <Text dimColor> (recommended)</Text> : null}
          </Hanging>
        );
      })}
      <Wrapped>
        answer: {text}
        <Text inverse> </Text>
      </Wrapped>
      <Wrapped dimColor>{question.options.length > 0 ? '↑↓ choose · Enter accept · type for a free answer' : 'type the answer · Enter accept'}</Wrapped>
    </Box>
  );
}

/** The sizing and budget summary: phases with context modes and file operations, then the budget arithmetic. */
export function BudgetTable({ sizing, budget }: { sizing: SizingDetail | null; budget: BudgetDetail }) {
  const width = useLayoutWidth();
  const c = budget.coefficients;
  // Phase, Context and Files take 6 + 21 + 5 columns and three spaces: the title gets the rest (44 on 80 columns).
  const titleWidth = Math.max(8, width - 36);
  return (
    <Box flexDirection="column" marginTop={1} width={width}>
      <Text bold>Sizing and budget</Text>
      {sizing ? (
        <Box flexDirection="column">
          <Text dimColor>
            {'Phase'.padEnd(6)} {'Title'.padEnd(titleWidth)} {'Context'.padEnd(21)} {'Files'.padStart(5)}
          </Text>
          {sizing.phases.map((phase) => (
            <Text key={phase.id} wrap="truncate-end">
              {phase.id.padEnd(6)} {clip(phase.title, titleWidth).padEnd(titleWidth)} {phase.context.padEnd(21)}{' '}
              <Text color={tint(phase.fileOperations > 10 ? 'yellow' : undefined)}>{String(phase.fileOperations).padStart(5)}</Text>
            </Text>
          ))}
        </Box>
      ) : null}
      <Box flexDirection="column" marginTop={1}>
        <Text>
          {'phases'.padEnd(10)} {String(budget.phases).padStart(4)} <Text dimColor>× phase weight {c.phase_weight}</Text>
        </Text>
        <Text>
          {'criteria'.padEnd(10)} {String(budget.criteria).padStart(4)} <Text dimColor>÷ criteria divisor {c.criteria_divisor}</Text>
        </Text>
        <Text>
          {'constant'.padEnd(10)} {String(c.constant).padStart(4)}
        </Text>
        <Text>
          {'margin'.padEnd(10)} {String(c.margin).padStart(4)} <Text dimColor>({budget.basis})</Text>
        </Text>
        <Hanging lead={'budget'.padEnd(11)} width={11}>
          <Text bold>{budget.maxIterations} iterations</Text> = {flat(budget.arithmetic)}
        </Hanging>
      </Box>
    </Box>
  );
}

function roundLine(round: RoundView): string {
  return `review round ${round.round} by ${round.reviewer}: `;
}

function ReviewRound({ round, actions }: { round: RoundView; actions: NewActions }) {
  // The cursor starts on "continue" (after the findings): Enter goes on, ↑ reaches the findings.
  const [cursor, setCursor] = useState(round.findings.length);
  const [open, setOpen] = useState<number | null>(null);
  useInput((input, key) => {
    if (key.upArrow) setCursor((index) => Math.max(index - 1, 0));
    else if (key.downArrow) setCursor((index) => Math.min(index + 1, round.findings.length));
    else if (key.escape || input === 'q' || key.tab) actions.continueReview();
    else if (key.return) {
      if (cursor >= round.findings.length) actions.continueReview();
      else setOpen((current) => (current === cursor ? null : cursor));
    }
  });
  const current = open === null ? undefined : round.findings[open];
  const width = useLayoutWidth();
  return (
    <Box flexDirection="column" marginTop={1}>
      <Wrapped bold>
        {roundLine(round)}
        <Text color={tint(round.verdict === 'APPROVED' ? 'green' : 'red')}>{round.verdict}</Text>
      </Wrapped>
      <Wrapped dimColor>{flat(round.counts)}</Wrapped>
      {round.findings.length === 0 ? <Text dimColor>no findings</Text> : null}
      {round.findings.map((finding, index) => (
        <FindingLine key={finding.number} finding={finding} selected={index === cursor} width={width} />
      ))}
      <Text inverse={cursor >= round.findings.length}>{cursor >= round.findings.length ? '❯ ' : '  '}continue</Text>
      {current ? <FindingDetails finding={current} /> : null}
      <Wrapped dimColor>↑↓ select · Enter open a finding (quote and fix) or continue · Esc continue</Wrapped>
    </Box>
  );
}

const CHOICES: Array<{ choice: RunChoice; label: string }> = [
  { choice: 'once', label: 'run one iteration now (deepplan run --once)' },
  { choice: 'loop', label: 'run the loop in the dashboard (deepplan run --loop)' },
  { choice: 'later', label: 'later' },
];

function Final({ stage, actions }: { stage: Extract<Stage, { kind: 'final' }>; actions: NewActions }) {
  const [selected, setSelected] = useState(CHOICES.length - 1);
  useInput((_input, key) => {
    if (stage.busy) return;
    if (key.upArrow) setSelected((index) => Math.max(index - 1, 0));
    else if (key.downArrow) setSelected((index) => Math.min(index + 1, CHOICES.length - 1));
    else if (key.return) actions.choose(CHOICES[selected]!.choice);
  });
  return (
    <Box flexDirection="column" marginTop={1}>
      <Wrapped>
        <Text bold>Plan: {stage.plan}</Text> <Text dimColor>({flat(stage.facts)})</Text>
      </Wrapped>
      <Wrapped>
        Start running it now? Running approves it first (deepplan approve), which needs a plan that lints clean as approved (a reviewed one: verdict APPROVED).
      </Wrapped>
      {CHOICES.map((entry, index) => (
        <Hanging key={entry.choice} lead={index === selected ? '❯ ' : '  '} width={2} inverse={index === selected}>
          {entry.label}
          {entry.choice === 'later' ? <Text dimColor> (default)</Text> : null}
        </Hanging>
      ))}
      {stage.message ? <Wrapped color={tint('red')}>{flat(stage.message)}</Wrapped> : null}
      <Wrapped dimColor>{stage.busy ? 'approving…' : '↑↓ choose · Enter confirm · Ctrl-C leave'}</Wrapped>
    </Box>
  );
}

function Item({ item }: { item: LogItem }) {
  const width = useLayoutWidth();
  switch (item.kind) {
    case 'title':
      return (
        <Box width={width}>
          <Wrapped bold>{flat(item.text)}</Wrapped>
        </Box>
      );
    case 'phase':
      return <PhaseRow line={item.line} tick={0} />;
    case 'note':
      return (
        <Box width={width}>
          <Wrapped color={tint(item.tone === 'error' ? 'red' : item.tone === 'ok' ? 'green' : undefined)} dimColor={item.tone === 'dim'}>
            {item.text}
          </Wrapped>
        </Box>
      );
    case 'answer':
      return (
        <Box width={width}>
          <Hanging lead={<Text color={tint('cyan')}>? </Text>} width={2}>
            {flat(item.question)} <Text dimColor>→</Text> {flat(item.answer)}
          </Hanging>
        </Box>
      );
    case 'skills':
      return (
        <Box flexDirection="column" marginTop={1} width={width}>
          <Text bold>
            Skill audit: {item.audit.mapped.length} mapped, {item.audit.excluded.length} excluded
          </Text>
          <SkillTable audit={item.audit} />
        </Box>
      );
    case 'budget':
      return <BudgetTable sizing={item.sizing} budget={item.budget} />;
    case 'round':
      return (
        <Box flexDirection="column" marginTop={1} width={width}>
          <Wrapped bold>
            {roundLine(item.round)}
            <Text color={tint(item.round.verdict === 'APPROVED' ? 'green' : 'red')}>{item.round.verdict}</Text>{' '}
            <Text dimColor>({flat(item.round.counts)})</Text>
          </Wrapped>
          {item.round.findings.map((finding) => (
            <FindingLine key={finding.number} finding={finding} selected={false} width={width} />
          ))}
        </Box>
      );
  }
}

export function NewScreen({ store, actions }: { store: NewStore; actions: NewActions }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const { stage } = state;
  const running = state.phases.some((line) => line.status === 'running') || stage.kind === 'reviewing';
  const tick = useTick(running);
  // Ctrl-C anywhere: the session saves a consistent draft and says where it is.
  useInput((input, key) => {
    if (key.ctrl && input === 'c') actions.interrupt();
  });
  const live = state.phases.filter((line) => line.status !== 'done');
  const width = useLayoutWidth();
  const log = useStaticItems(state.log);
  return (
    // The live part takes Ink's width (the terminal's, re-read at once on a resize); a static item is laid out on its own.
    <Box flexDirection="column" maxWidth={MAX_WIDTH}>
      <Static key={log.key} items={log.items}>
        {(item) => (
          // A static item is laid out apart from the live part: it gets the width itself.
          <Box key={item.id} width={width} flexDirection="column">
            <Item item={item} />
          </Box>
        )}
      </Static>
      {stage.kind === 'request' ? (
        <Box flexDirection="column">
          <TextInput prompt="What is the work?" onSubmit={actions.submitRequest} hint="Enter submits · @path reads the request from a file · Ctrl-C leaves" />
          {stage.error ? <Wrapped color={tint('red')}>{stage.error}</Wrapped> : null}
        </Box>
      ) : null}
      {stage.kind !== 'request' && stage.kind !== 'done' && live.length > 0 ? (
        <Box flexDirection="column">
          {live.map((line) => (
            <PhaseRow key={line.phase} line={line} tick={tick} />
          ))}
        </Box>
      ) : null}
      {stage.kind === 'question' ? <Interview key={`${stage.number}`} question={stage.question} number={stage.number} actions={actions} /> : null}
      {stage.kind === 'skills' ? (
        <SkillAudit key={JSON.stringify(stage.audit.choice) + (stage.audit.problem ?? '')} audit={stage.audit} actions={actions} />
      ) : null}
      {stage.kind === 'reviewing' ? (
        <Hanging lead={<Text color={tint('cyan')}>{SPINNER[tick % SPINNER.length]} </Text>} width={2}>
          {flat(stage.reason)}: reviewing before approval (deepplan review) {seconds(Date.now() - stage.startedAt).trim()}
          {stage.message ? <Text dimColor> {flat(stage.message)}</Text> : null}
        </Hanging>
      ) : null}
      {stage.kind === 'review' ? <ReviewRound key={stage.round.round} round={stage.round} actions={actions} /> : null}
      {stage.kind === 'final' ? <Final stage={stage} actions={actions} /> : null}
    </Box>
  );
}

export function renderNewScreen(store: NewStore, actions: NewActions) {
  const redraw = new RedrawStore({ epoch: 0, rows: 0 });
  const app = render(
    <RedrawProvider store={redraw}>
      <NewScreen store={store} actions={actions} />
    </RedrawProvider>,
    { stdout: process.stdout, stdin: process.stdin, exitOnCtrlC: false, patchConsole: false },
  );
  const unwatch = watchNarrowing(process.stdout, redraw);
  app.waitUntilExit().then(unwatch, unwatch);
  return app;
}

/** Mounts the screens on a store: Ink's render on a terminal (renderNewScreen), ink-testing-library in tests. */
export type MountNewScreen = (store: NewStore, actions: NewActions) => Promise<{ unmount(): void }>;

/** What a session gets from its screens: where its events go, and Ctrl-C (a key here, or the outer signal). */
export interface NewSessionScreen {
  emit(event: SessionEvent): void;
  signal: AbortSignal;
}

export interface RenderNewSessionOptions {
  mount: MountNewScreen;
  /** The session starts by asking for the request (none was given). */
  asking: boolean;
  /** A SIGINT from outside the screens (Ctrl-C on the screens arrives as a key). */
  signal: AbortSignal;
}

/** The answers the screens owe to the event that waits (each event that waits replaces its own). */
interface Waiting {
  submit?: (text: string) => void;
  answer?: (text: string) => void;
  confirm?: (toggled: string[]) => void;
  next?: () => void;
  choose?: (choice: RunChoice) => void;
}

const pause = (ms: number) => new Promise((resolveLater) => setTimeout(resolveLater, ms));

/**
 * Renders a `deepplan new` session on the screens, the way cli-kit's render functions do: mounts them, shows the
 * session's events, answers the events that wait with the person's keys, and resolves with the session's result
 * once the screens have gone (or rejects with its error).
 */
export async function renderNewSession<T>(session: (screen: NewSessionScreen) => Promise<T>, options: RenderNewSessionOptions): Promise<T> {
  const phases = PIPELINE_PHASES.map((phase): PhaseLine => ({ phase, status: 'pending', startedAt: null, elapsedMs: null, summary: null, notes: [] }));
  const store = new NewStore({ log: [], phases, stage: options.asking ? { kind: 'request', error: null } : { kind: 'pipeline' } });
  const controller = new AbortController();
  if (options.signal.aborted) controller.abort();
  options.signal.addEventListener('abort', () => controller.abort(), { once: true });
  const waiting: Waiting = {};
  const actions: NewActions = {
    submitRequest: (text) => waiting.submit?.(text),
    answer: (text) => waiting.answer?.(text),
    confirmSkills: (toggled) => waiting.confirm?.(toggled),
    continueReview: () => waiting.next?.(),
    choose: (choice) => waiting.choose?.(choice),
    interrupt: () => controller.abort(),
  };
  const app = await options.mount(store, actions);
  let result: T;
  try {
    result = await session({ emit: (event) => showEvent(store, waiting, event), signal: controller.signal });
  } catch (error) {
    app.unmount();
    throw error;
  }
  // Let Ink draw the last state (it throttles frames) before the screens go.
  await pause(120);
  store.set({ stage: { kind: 'done' }, phases: store.get().phases.filter((line) => line.status === 'done') });
  await pause(30);
  app.unmount();
  return result;
}

/** A session event as the state of the screens. */
function showEvent(store: NewStore, waiting: Waiting, event: SessionEvent): void {
  switch (event.type) {
    case 'request':
      waiting.submit = event.submit;
      return store.set({ stage: { kind: 'request', error: event.error } });
    case 'working':
      return store.set({ stage: { kind: 'pipeline' } });
    case 'phase':
      return showPhase(store, event.event);
    case 'question':
      waiting.answer = event.answer;
      return store.set({ stage: { kind: 'question', question: event.question, number: event.number } });
    case 'skills':
      waiting.confirm = event.confirm;
      return store.set({ stage: { kind: 'skills', audit: event.audit } });
    case 'reviewing':
      return store.set({ stage: { kind: 'reviewing', reason: event.reason, startedAt: event.startedAt, message: null } });
    case 'review':
      waiting.next = event.next;
      return store.set({ stage: { kind: 'review', round: event.round } });
    case 'final':
      if (event.choose) waiting.choose = event.choose;
      return store.set({ stage: { kind: 'final', plan: event.plan, facts: event.facts, message: event.message, busy: event.choose === null } });
    case 'line':
      return store.append(event.line);
  }
}

/** A pipeline event on the live list of phases; a finished phase goes to the scrollback. */
function showPhase(store: NewStore, event: PipelineEvent): void {
  const update = (patch: Partial<PhaseLine>) =>
    store.set({ phases: store.get().phases.map((line) => (line.phase === event.phase ? { ...line, ...patch } : line)) });
  const current = store.get().phases.find((line) => line.phase === event.phase)!;
  if (event.type === 'started') update({ status: 'running', startedAt: Date.now() });
  else if (event.type === 'progress') {
    if (current.status === 'running') update({ notes: [...current.notes, event.message] });
    else store.append({ kind: 'note', text: `  ${event.message}`, tone: 'dim' });
  } else if (event.type === 'result') update({ summary: event.summary });
  else if (event.type === 'finished') {
    const done: PhaseLine = { ...current, status: 'done', elapsedMs: Date.now() - (current.startedAt ?? Date.now()) };
    update(done);
    store.append({ kind: 'phase', line: done });
  }
}
