import type { Config } from '../config/config.js';
import { PROVIDERS, ROLES, type ProviderName, type Role } from './types.js';

/**
 * The models each role uses when deepplan.config.yaml does not say (PLAN_FORMAT.md section 4): each provider's
 * current model for the job. data/prices.yaml prices each of them (test/prices.test.ts holds it to that).
 */
export const DEFAULT_MODELS: Record<Role, string> = {
  planner: 'anthropic/claude-sonnet-5-5',
  reviewer: 'openai/gpt-6.2-sol',
  executor: 'anthropic/claude-sonnet-5-5',
  fallback: 'google/gemini-3.5-flash',
};

/** The environment variables each provider's key may come from, in order of preference. */
export const KEY_VARIABLES: Record<string, string[]> = {
  anthropic: ['ANTHROPIC_API_KEY'],
  openai: ['OPENAI_API_KEY'],
  google: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
};

/** The SDKs' standard base-URL variables. */
export const BASE_URL_VARIABLES: Record<string, string> = {
  anthropic: 'ANTHROPIC_BASE_URL',
  openai: 'OPENAI_BASE_URL',
  google: 'GOOGLE_GEMINI_BASE_URL',
};

export interface RoleInfo {
  role: Role;
  /** What the configuration asked for: `provider/model`. */
  configured: string;
  /** The provider that will answer: the configured one, or `offline` when it has no key. */
  provider: ProviderName;
  model: string;
  keyVariable: string | null;
  keyPresent: boolean;
  baseUrl: string | null;
  baseUrlSource: 'config' | 'environment' | 'default' | null;
  /** OpenAI only: which API to speak. */
  api: 'responses' | 'chat';
  /** Why the role runs offline, when it does. */
  offlineReason: string | null;
}

export type Env = Record<string, string | undefined>;

function splitRef(ref: string): { provider: string; model: string } {
  const slash = ref.indexOf('/');
  return slash === -1 ? { provider: ref, model: '' } : { provider: ref.slice(0, slash), model: ref.slice(slash + 1) };
}

export function resolveRole(role: Role, config: Config, env: Env): RoleInfo {
  const configured = config.models?.[role] ?? DEFAULT_MODELS[role];
  const { provider, model } = splitRef(configured);
  const base: RoleInfo = {
    role,
    configured,
    provider: 'offline',
    model,
    keyVariable: null,
    keyPresent: false,
    baseUrl: null,
    baseUrlSource: null,
    api: 'responses',
    offlineReason: null,
  };
  if (provider === 'offline' || provider === 'replay') return { ...base, provider };
  if (env['DEEPPLAN_OFFLINE'] === '1') return { ...base, offlineReason: 'DEEPPLAN_OFFLINE=1 is set' };
  if (!(PROVIDERS as readonly string[]).includes(provider)) {
    return { ...base, offlineReason: `unknown provider "${provider}" (anthropic, openai, google, offline, replay)` };
  }
  const variables = KEY_VARIABLES[provider]!;
  const keyVariable = variables.find((name) => (env[name] ?? '').trim() !== '') ?? variables[0]!;
  const keyPresent = (env[keyVariable] ?? '').trim() !== '';
  const settings = config.providers?.[provider as 'anthropic' | 'openai' | 'google'];
  const envUrl = env[BASE_URL_VARIABLES[provider]!];
  const baseUrl = settings?.base_url ?? (envUrl && envUrl.trim() !== '' ? envUrl : null);
  return {
    ...base,
    provider: keyPresent ? (provider as ProviderName) : 'offline',
    keyVariable,
    keyPresent,
    baseUrl,
    baseUrlSource: settings?.base_url ? 'config' : baseUrl ? 'environment' : 'default',
    api: settings?.api ?? 'responses',
    offlineReason: keyPresent ? null : `no ${variables.join(' or ')} set`,
  };
}

export function resolveRoles(config: Config, env: Env = process.env): Record<Role, RoleInfo> {
  return Object.fromEntries(ROLES.map((role) => [role, resolveRole(role, config, env)])) as Record<Role, RoleInfo>;
}

/** The configured provider of a role, whether or not it has a key. */
export function configuredProvider(info: RoleInfo): string {
  return splitRef(info.configured).provider;
}

export interface ProviderCheck {
  error: string | null;
  warning: string | null;
}

/**
 * The reviewer must come from another model family than the planner (DESIGN.md decision 7). Offline roles are the
 * rule engine, not a model family, and are exempt.
 */
export function checkReviewerProvider(roles: Record<Role, RoleInfo>, config: Config): ProviderCheck {
  const planner = roles.planner;
  const reviewer = roles.reviewer;
  if (planner.provider === 'offline' || reviewer.provider === 'offline' || planner.provider === 'replay' || reviewer.provider === 'replay') {
    return { error: null, warning: null };
  }
  if (planner.provider !== reviewer.provider) return { error: null, warning: null };
  const same = `the reviewer (${reviewer.configured}) and the planner (${planner.configured}) are both ${planner.provider} models`;
  if (config.allow_same_provider === true) {
    return { error: null, warning: `WARNING: ${same}; the review is not cross-model (allow_same_provider: true)` };
  }
  return { error: `${same}; configure a reviewer from another provider, or set allow_same_provider: true`, warning: null };
}

let offlineNoticeGiven = false;

/** Says once per process which roles run offline and why. */
export function noticeOfflineRoles(roles: Record<Role, RoleInfo>, write: (line: string) => void): void {
  if (offlineNoticeGiven) return;
  const offline = Object.values(roles).filter((info) => info.offlineReason !== null);
  if (offline.length === 0) return;
  offlineNoticeGiven = true;
  const byReason = new Map<string, string[]>();
  for (const info of offline) byReason.set(info.offlineReason!, [...(byReason.get(info.offlineReason!) ?? []), info.role]);
  for (const [reason, names] of byReason) write(`deepplan: ${reason}: ${names.join(', ')} ${names.length === 1 ? 'runs' : 'run'} offline`);
}
