export type ModelErrorKind =
  | 'http'
  | 'timeout'
  | 'connection'
  | 'refusal'
  | 'invalid-output'
  /** HTTP 200 whose body is not the provider's wire format (not JSON, or JSON of another shape): a proxy, a wrong base URL. */
  | 'malformed'
  | 'aborted'
  | 'cost'
  | 'config'
  | 'offline';

const RETRYABLE_STATUS = new Set([408, 409, 429]);

export interface ModelErrorDetails {
  kind: ModelErrorKind;
  provider: string;
  model: string;
  status?: number;
  retryAfterMs?: number;
  role?: string;
  /** The message without its closing advice, for messages that combine two failures (a role and its fallback). */
  detail?: string;
}

/**
 * A model call that did not produce a usable answer. The message is one line naming the role, provider, status and
 * what to do; it never holds a key (see redact.ts).
 */
export class ModelError extends Error {
  override name = 'ModelError';
  readonly kind: ModelErrorKind;
  readonly provider: string;
  readonly model: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  role: string | undefined;
  readonly detail: string | undefined;

  constructor(message: string, details: ModelErrorDetails) {
    super(message);
    this.kind = details.kind;
    this.provider = details.provider;
    this.model = details.model;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.role = details.role;
    this.detail = details.detail;
  }

  /** Worth another try: 408, 409, 429, 5xx, timeouts, dropped connections and bodies a proxy garbled. */
  get retryable(): boolean {
    if (this.kind === 'timeout' || this.kind === 'connection' || this.kind === 'malformed') return true;
    if (this.kind !== 'http' || this.status === undefined) return false;
    return RETRYABLE_STATUS.has(this.status) || this.status >= 500;
  }
}

/** Reads `retry-after` (seconds or an HTTP date) and `retry-after-ms` from response headers. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined | null): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (Number.isFinite(Number(value))) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * What to tell the user to do about a failure. `withFallback`: a fallback model is configured (and was tried, or is
 * the one that failed), so the advice never asks for one.
 */
export function adviceFor(kind: ModelErrorKind, status?: number, withFallback = false): string {
  if (kind === 'http' && (status === 401 || status === 403)) return 'check the API key';
  if (kind === 'http' && status === 404) return 'check the model name and the base URL';
  if (kind === 'http' && status === 429) return 'wait, or lower the request rate or raise the account limit';
  if (kind === 'http' && status !== undefined && status >= 500)
    return withFallback ? 'the provider is failing; retry later' : 'the provider is failing; retry later or configure a fallback model';
  if (kind === 'malformed') return "check that the base URL is the provider's API (deepplan doctor shows it); a proxy or another server may have answered";
  if (kind === 'http') return 'check the request settings';
  if (kind === 'timeout') return 'retry later, or raise timeout_ms in deepplan.config.yaml';
  if (kind === 'connection') return 'check the network and the base URL';
  if (kind === 'refusal') return 'rephrase the request or use another model';
  if (kind === 'invalid-output') return 'retry, or use a stronger model for this role';
  return 'see deepplan doctor';
}

/**
 * Classifies an error thrown by one of the official SDKs (they share the Stainless error classes for Anthropic and
 * OpenAI; Google's ApiError has a status) into a ModelError.
 */
export function fromSdkError(error: unknown, provider: string, model: string, timedOut: boolean): ModelError {
  if (error instanceof ModelError) return error;
  const err = error as { name?: string; status?: unknown; headers?: { get(name: string): string | null }; message?: string; cause?: unknown };
  const name = err?.name ?? '';
  const where = `${provider}/${model}`;
  if (timedOut || name === 'APIConnectionTimeoutError' || name === 'TimeoutError') {
    return new ModelError(`${where}: no answer before the time limit`, { kind: 'timeout', provider, model });
  }
  if (name === 'APIUserAbortError' || name === 'AbortError') {
    return new ModelError(`${where}: cancelled`, { kind: 'aborted', provider, model });
  }
  if (typeof err?.status === 'number') {
    const status = err.status;
    return new ModelError(`${where}: HTTP ${status}`, {
      kind: 'http',
      provider,
      model,
      status,
      ...(retryAfterMs(err.headers) !== undefined ? { retryAfterMs: retryAfterMs(err.headers)! } : {}),
    });
  }
  // The SDK read an HTTP 200 and choked on its body (a string where an object belongs, a missing field): the answer is
  // not the provider's format. Network failures are TypeErrors too, but with a cause ("fetch failed", "terminated").
  if (
    error instanceof TypeError &&
    err.cause === undefined &&
    (error as { code?: unknown }).code === undefined &&
    !/^(fetch failed|terminated)$/i.test(err.message ?? '')
  ) {
    return malformedAnswer(provider, model, "its body is not in the API's format");
  }
  if (error instanceof SyntaxError) return malformedAnswer(provider, model, 'its body is not valid JSON');
  if (
    name === 'APIConnectionError' ||
    /fetch failed|ECONNRE|socket|terminated|premature|network/i.test(`${err?.message ?? ''} ${String((err?.cause as Error | undefined)?.message ?? '')}`)
  ) {
    return new ModelError(`${where}: the connection failed or was cut off`, { kind: 'connection', provider, model });
  }
  // Not a provider failure we recognise: report it as it is and do not retry it.
  return new ModelError(`${where}: ${err?.message ?? String(error)}`, { kind: 'http', provider, model });
}

const WIRE_FORMATS: Record<string, string> = {
  anthropic: 'the Anthropic Messages API',
  openai: 'the OpenAI API',
  google: 'the Gemini API',
};

/** An HTTP 200 whose body is not an answer of the provider's API: `what` says how (not JSON, no content list, ...). */
export function malformedAnswer(provider: string, model: string, what: string): ModelError {
  return new ModelError(`${provider}/${model}: the server answered, but not in the format of ${WIRE_FORMATS[provider] ?? `the ${provider} API`}: ${what}`, {
    kind: 'malformed',
    provider,
    model,
  });
}
