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

/** A price older than this many days is flagged by `deepplan doctor`: vendors change prices, and a run's cap trusts them. */
export const PRICE_MAX_AGE_DAYS = 90;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Warnings about the prices of the configured models: a model with no price (its cost is unknown and --max-cost
 * refuses it), or with a price read more than 90 days before `today` (or with no date). `models` maps each
 * `provider/model` to the roles that use it; offline and replay models cost nothing and are skipped.
 */
export function priceWarnings(models: Map<string, string[]>, config: Config, today: Date): string[] {
  const warnings: string[] = [];
  for (const [ref, roles] of models) {
    const provider = ref.split('/')[0];
    if (provider === 'offline' || provider === 'replay') continue;
    const used = `${ref} (${roles.join(', ')})`;
    const price = priceFor(ref, config);
    if (!price) {
      warnings.push(`${used} has no price: its cost shows as unknown and --max-cost refuses to call it; add it under prices: in deepplan.config.yaml`);
      continue;
    }
    const where = config.prices?.[ref] ? 'prices: in deepplan.config.yaml' : 'data/prices.yaml';
    const read = price.date ? Date.parse(`${String(price.date).slice(0, 10)}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(read)) {
      warnings.push(
        `${used}: its price in ${where} has no date; check it${price.source ? ` on ${price.source}` : " on the vendor's page"} and record the date read`,
      );
      continue;
    }
    const age = Math.floor((Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - read) / DAY_MS);
    if (age > PRICE_MAX_AGE_DAYS) {
      warnings.push(
        `${used}: its price in ${where} was read on ${String(price.date).slice(0, 10)}, ${age} days ago; check it${price.source ? ` on ${price.source}` : " on the vendor's page"} and update it`,
      );
    }
  }
  return warnings;
}
