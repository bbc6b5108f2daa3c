import { useWindowSize } from 'ink';

/**
 * What every screen draws with: colours that honour NO_COLOR (Ink itself does not), the terminal's width, and
 * one-line clipping for table cells.
 */

/** The colour, or none when NO_COLOR is set. */
export function tint<T extends string>(colour: T | undefined): T | undefined {
  return process.env['NO_COLOR'] ? undefined : colour;
}

/** The widest the screens lay out: wider terminals leave the rest empty (lines longer than this are hard to read). */
export const MAX_WIDTH = 200;
/** The narrowest layout; a narrower terminal still gets lines no longer than it is wide (the tables clip harder). */
export const MIN_WIDTH = 20;

/** The width the screens lay out for, given the terminal's columns (unknown: 80). */
export function layoutWidth(columns: number | undefined): number {
  if (!columns || !Number.isFinite(columns)) return 80;
  return Math.max(MIN_WIDTH, Math.min(Math.floor(columns), MAX_WIDTH));
}

/**
 * The terminal's width for the layout, re-read on every stdout 'resize' (Ink's useWindowSize re-renders the screen).
 * Every live line must fit it: a line wider than the terminal wraps, and Ink's count of the lines it has to erase
 * on the next frame is then wrong (duplicate lines).
 */
export function useLayoutWidth(): number {
  return layoutWidth(useWindowSize().columns);
}

/** The text on one line (runs of white space folded), cut with an ellipsis to at most `width` characters (a table cell). */
export function clip(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  if (width <= 0) return '';
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** Runs of white space folded to one space: prose that Ink then wraps at word boundaries (<Text wrap="wrap">). */
export function flat(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
