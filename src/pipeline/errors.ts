/** The pipeline cannot produce a plan that lints; the message says why in one line. */
export class PipelineError extends Error {
  override name = 'PipelineError';
}
