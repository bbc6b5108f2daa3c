import { Box, Static, Text, render, useApp, useInput } from 'ink';
import { useSyncExternalStore } from 'react';
import { Store } from './store.js';
import { clip, tint } from './style.js';

/**
 * The run dashboard of `deepplan run --loop` on a terminal. It only shows what the engine reports (the state the
 * loop in src/cli/run-command.ts keeps from the engine's events) and passes keys back; it holds no logic of its own.
 * Log rows are printed once each, in Ink's <Static> above the live part (so a run of hundreds of iterations never
 * redraws them); the live part is the progress, the current action, the signal and the keys.
 */

export interface DashboardRow {
  number: number;
  action: string;
  result: string;
  signal: string;
}

export interface DashboardState {
  title: string;
  phasesDone: number;
  phasesTotal: number;
  currentPhase: string | null;
  iteration: number;
  budget: number | null;
  costUsd: number;
  action: string | null;
  /** Append-only: the rows printed so far and any new ones (a row once printed stays printed). */
  rows: DashboardRow[];
  signal: string | null;
  blockers: string[];
  /** A human gate waits and `a` may approve it. */
  gate: string | null;
  paused: boolean;
  stopping: boolean;
  message: string | null;
}

export interface DashboardKeys {
  pause(): void;
  stop(): void;
  approve(): void;
  quit(): void;
}

export class DashboardStore extends Store<DashboardState> {}

const WIDTH = 30;

function bar(done: number, total: number): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * WIDTH);
  return `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
}

const colourOf = (value: string) =>
  tint(value === 'ok' || value === 'TASK_COMPLETE' ? 'green' : value === 'failed' || value === 'blocked' || value === 'BLOCKED_NEED_HUMAN' ? 'red' : value === 'no-change' ? 'yellow' : undefined);

function Row({ row }: { row: DashboardRow }) {
  return (
    <Text>
      {String(row.number).padStart(4)} <Text color={colourOf(row.result)}>{row.result.padEnd(9)}</Text> <Text color={colourOf(row.signal)}>{row.signal.padEnd(18)}</Text> {clip(row.action, 44)}
    </Text>
  );
}

export function RunDashboard({ store, keys }: { store: DashboardStore; keys: DashboardKeys }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const { exit } = useApp();
  useInput((input) => {
    if (input === 'p') keys.pause();
    else if (input === 's') keys.stop();
    else if (input === 'a' && state.gate) keys.approve();
    else if (input === 'q') {
      keys.quit();
      exit();
    }
  });
  return (
    <Box flexDirection="column" width={80}>
      <Static items={state.rows}>{(row) => <Row key={row.number} row={row} />}</Static>
      <Text bold>{clip(state.title, 78)}</Text>
      <Text>
        phases     {bar(state.phasesDone, state.phasesTotal)} {state.phasesDone}/{state.phasesTotal}
        {state.currentPhase ? ` at ${state.currentPhase}` : ''}
      </Text>
      <Text>
        iterations {state.iteration} of {state.budget ?? '?'}   cost ${state.costUsd.toFixed(4)}
      </Text>
      <Text>now        {state.action ? clip(state.action, 66) : '-'}</Text>
      <Box flexDirection="column" marginTop={1}>
        {state.signal ? (
          <Text>
            signal <Text bold color={colourOf(state.signal)}>{state.signal}</Text>
          </Text>
        ) : null}
        {state.blockers.map((blocker) => (
          <Text key={blocker} color={tint('red')}>
            blocked: {clip(blocker, 70)}
          </Text>
        ))}
        {state.message ? <Text dimColor>{state.message}</Text> : null}
        <Text dimColor>
          {state.paused ? 'paused · p resume' : 'p pause'} · s stop{state.gate ? ` · a approve ${state.gate}` : ''} · q quit{state.stopping ? ' · stopping after this iteration' : ''}
        </Text>
      </Box>
    </Box>
  );
}

export function renderRunDashboard(store: DashboardStore, keys: DashboardKeys) {
  return render(<RunDashboard store={store} keys={keys} />, { stdout: process.stdout, stdin: process.stdin, exitOnCtrlC: false, patchConsole: false });
}
