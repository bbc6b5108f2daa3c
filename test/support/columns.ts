/**
 * A terminal of another width for ink-testing-library (whose stdout says 100 columns): sets the columns and emits
 * the stdout 'resize' event a terminal's SIGWINCH gives, as a resized terminal would.
 */
export function resizeTo(view: { stdout: NodeJS.EventEmitter }, columns: number): void {
  Object.defineProperty(view.stdout, 'columns', { configurable: true, get: () => columns });
  view.stdout.emit('resize');
}

/** The widest line of a frame, in characters. */
export const widest = (frame: string) => Math.max(...frame.split('\n').map((line) => [...line].length));
