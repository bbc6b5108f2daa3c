import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Config } from '../config/config.js';
import type { Usage } from './types.js';

export interface Price {
  /** USD per million input tokens. */
  input: number;
  output: number;
  date?: string;
  source?: string;
}

let shipped: Record<string, Price> | null = null;

/** The shipped price table (data/prices.yaml). */
export function shippedPrices(): Record<string, Price> {
  if (!shipped) {
    try {
      shipped = (parse(readFileSync(new URL('../../data/prices.yaml', import.meta.url), 'utf8')) ?? {}) as Record<string, Price>;
    } catch {
      shipped = {};
    }
  }
  return shipped;
}

export function priceFor(ref: string, config: Config): Price | null {
  return config.prices?.[ref] ?? shippedPrices()[ref] ?? null;
}

export function costOf(price: Price | null, usage: Usage): number | null {
  if (!price) return null;
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
}

/** About four characters a token: enough to keep a run under its cap before the provider counts for real. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
