/** What every screen draws with: colours that honour NO_COLOR (Ink itself does not), and one-line clipping. */

/** The colour, or none when NO_COLOR is set. */
export function tint<T extends string>(colour: T | undefined): T | undefined {
  return process.env['NO_COLOR'] ? undefined : colour;
}

/** The text on one line (runs of white space folded), cut with an ellipsis to at most `width` characters. */
export function clip(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}
